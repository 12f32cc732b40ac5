// Command timeouts and their escalation (docs/reliability.md, section G; RFC 7143 §11.5 Task Management): a command
// without status in time gets ABORT TASK; if that fails, LOGICAL UNIT RESET; if that fails too, the
// connection is dropped and recovery takes over. One task-management request at a time per session.
// An aborted command is reported as failed, never as done.
import { IscsiError } from "../contract/errors.ts";
import { TaskManagementFunction } from "./requests.ts";
import type { SessionCore } from "./core.ts";
import type { TaskState } from "./task.ts";

/** What this helper may read and do of its session. */
type TimedSession = Pick<
  SessionCore,
  "state" | "connection" | "recoveryOptions" | "requests" | "tasks" | "log" | "finish"
> & {
  /** Commands still unsent because the window is closed have the same timeout (window-stall.ts). */
  readonly windowStall: { expire(ms: number): void };
};

/**
 * One periodic sweep per session instead of a timer per command: arming and clearing a timer for every
 * command cost about a tenth of the JavaScript time of a 4 KiB I/O (docs/performance.md). The task table
 * keeps insertion order, which is send order, so a sweep stops at the first command still in time. A
 * command is caught between `commandTimeoutMs` and a quarter more (at most one second more) after it was sent.
 */
export class CommandTimeouts {
  private timer: ReturnType<typeof setInterval> | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly s: TimedSession) {}

  start(): void {
    this.stop();
    const ms = this.s.recoveryOptions.commandTimeoutMs;
    if (ms <= 0) return;
    this.timer = setInterval(() => this.sweep(ms), Math.min(1000, Math.max(10, ms / 4)));
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private sweep(ms: number): void {
    const s = this.s;
    if (s.state.kind !== "full-feature") return;
    s.windowStall.expire(ms);
    const due = performance.now() - ms;
    for (const t of s.tasks.values()) {
      if (t.kind !== "scsi") continue;
      if (t.sentAt > due) return;
      if (t.expired) continue;
      t.expired = true;
      this.chain = this.chain
        .then(() => escalate(s, t, ms))
        .catch((e) => s.log.warn(`task management failed: ${(e as Error).message}`));
    }
  }
}

async function escalate(s: TimedSession, t: TaskState, ms: number): Promise<void> {
  if (s.tasks.get(t.itt) !== t || s.state.kind !== "full-feature") return; // answered meanwhile
  const name = t.task.name ?? `opcode 0x${t.task.cdb[0]!.toString(16)}`;
  const timeoutMs = Math.max(5_000, s.recoveryOptions.nopTimeoutMs * 2);
  s.log.warn(`${name} (ITT 0x${t.itt.toString(16)}) has had no status for ${ms / 1000} s: ABORT TASK`);
  try {
    await s.requests.taskManagement(TaskManagementFunction.AbortTask, t.lunField, t.itt, t.cmdSN, timeoutMs);
    s.finish(t, { error: new IscsiError("TIMEOUT", `${name} timed out after ${ms / 1000} s and was aborted`) });
    return;
  } catch (err) {
    if (s.tasks.get(t.itt) !== t) return;
    s.log.warn(`ABORT TASK for ${name} failed (${(err as Error).message}): LOGICAL UNIT RESET of LUN ${t.task.lun}`);
  }
  try {
    await s.requests.taskManagement(TaskManagementFunction.LogicalUnitReset, t.lunField, undefined, 0, timeoutMs);
    const reset = new IscsiError("TIMEOUT", `${name} timed out after ${ms / 1000} s; LUN ${t.task.lun} was reset`);
    for (const other of [...s.tasks.values()])
      if (other.kind === "scsi" && other.task.lun === t.task.lun) s.finish(other, { error: reset });
  } catch (err) {
    s.log.warn(`LOGICAL UNIT RESET failed (${(err as Error).message}): dropping the connection`);
    s.connection.close(new IscsiError("TIMEOUT", `${name}: no status, abort and LUN reset failed; reconnecting`));
  }
}
