// A CmdSN window that stays closed (RFC 7143 §4.2.2.1: MaxCmdSN = ExpCmdSN − 1) must not hold commands
// forever. When commands have to wait for the window the session probes at once with an immediate NOP-Out
// (immediate PDUs need no window; the NOP-In brings a fresh MaxCmdSN), and a command still unsent when its
// command timeout, counted from submission, has passed fails with an error that says the window was closed.
import { IscsiError } from "../contract/errors.ts";
import type { SessionCore } from "./core.ts";
import type { TaskState } from "./task.ts";

export class WindowStall {
  private probing = false;

  /** `queue` is the session's postponed queue (oldest first, priority commands at the head). */
  constructor(
    private readonly s: Pick<SessionCore, "connection" | "state" | "requests" | "recoveryOptions" | "log" | "window">,
    private readonly queue: TaskState[],
  ) {}

  /** Commands wait for the window: ask the target for its current MaxCmdSN now, one probe at a time. */
  stalled(): void {
    const s = this.s;
    if (this.probing || s.connection.closed || s.state.kind !== "full-feature") return;
    this.probing = true;
    s.requests
      .ping(Math.max(1_000, s.recoveryOptions.nopTimeoutMs))
      .catch((e) => s.log.debug(`window probe: ${(e as Error).message}`))
      .finally(() => (this.probing = false));
  }

  /** Fail the commands that waited for a closed window longer than `ms` since submission. */
  expire(ms: number): void {
    const s = this.s;
    if (this.queue.length === 0 || s.window.open || s.state.kind !== "full-feature") return;
    const due = performance.now() - ms;
    while (this.queue.length > 0 && this.queue[0]!.queuedAt <= due) {
      const t = this.queue.shift()!;
      const w = s.window;
      const name = t.task.name ?? `opcode 0x${t.task.cdb[0]!.toString(16)}`;
      t.reject(
        new IscsiError(
          "TIMEOUT",
          `${name} was not sent within ${ms / 1000} s: the command window of ${s.connection.peer} stayed closed (ExpCmdSN ${w.expCmdSN}, MaxCmdSN ${w.maxCmdSN}, next CmdSN ${w.cmdSN})`,
        ),
      );
    }
    if (this.queue.length > 0) this.stalled();
  }
}
