// What the rest of the daemon knows of the dashboard: whether it runs, where, and how `iscsi ui` reaches it.
import type { UiInfo } from "../../contract/views.ts";

export interface UiEndpoint {
  info(once: boolean): UiInfo;
  close(): Promise<void>;
}

/**
 * One request line of the control protocol in, its response envelope out (src/daemon/answer.ts); handed to the
 * dashboard by whoever starts it, so the dashboard does not depend on the dispatch table.
 */
export type AnswerLine = (
  line: string,
  via: string,
) => Promise<{ ok: boolean; error?: { code: string; message: string } }>;
