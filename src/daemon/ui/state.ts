// What the rest of the daemon knows of the dashboard: whether it runs, where, and how `iscsi ui` reaches it.

export interface UiInfo {
  enabled: boolean;
  /** The address to open, carrying the token (or, when asked `once`, a single-use login code). */
  url?: string;
  port?: number;
  /** Why the dashboard is not running (turned off, port taken). */
  problem?: string;
}

export interface UiEndpoint {
  info(once: boolean): UiInfo;
  close(): Promise<void>;
}

/**
 * One request line of the control protocol in, its response envelope out (src/ipc/answer.ts); handed to the
 * dashboard by whoever starts it, since src/daemon sits below src/ipc.
 */
export type AnswerLine = (line: string, via: string) => Promise<{ ok: boolean; error?: { code: string; message: string } }>;
