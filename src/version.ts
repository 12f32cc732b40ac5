// The version shown by `iscsi --version`; the release build replaces it through --define.
declare const ISCSI_VERSION: string | undefined;
export const VERSION: string = typeof ISCSI_VERSION === "string" ? ISCSI_VERSION : "0.1.0-dev";
