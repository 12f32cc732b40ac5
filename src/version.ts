// The version shown by `iscsi --version`: package.json's, inlined by the bundler at build time.
import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
