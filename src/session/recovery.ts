// ERL0 session recovery (RFC 7143 §7.1.5, §6.3.5 session reinstatement; docs/architecture.md, "Recovery"): after a lost
// connection, wait Time2Wait (clamped), log in again with the same ISID and TSIH 0 with capped exponential
// backoff and jitter, re-check the identity of every LU in use, then re-issue what was queued, in order.
// The replacement timeout (open-iscsi semantics: 0 fail at once, -1 wait forever, N ms) decides when
// waiting I/O fails; it never turns into success. Reconnecting goes on until logout or close.
import { IscsiError } from "../contract/errors.ts";
import { reconnect } from "./reconnect.ts";
import type { RecoveryEvent, SessionCore, SessionState } from "./core.ts";
import { LogicalUnit, identityOf } from "./logical-unit.ts";

/** What recovery may read and do of its session. */
type RecoveringSession = Pick<
  SessionCore,
  | "id"
  | "log"
  | "isid"
  | "state"
  | "connection"
  | "negotiated"
  | "portal"
  | "window"
  | "tasks"
  | "stats"
  | "options"
  | "recoveryOptions"
  | "targetName"
  | "transition"
  | "adopt"
  | "pump"
  | "failEverything"
  | "failQueued"
  | "requeueOutstanding"
  | "takeTime2WaitHint"
  | "recordedIdentities"
  | "execute"
  | "recordIdentity"
  | "recordedIdentity"
>;

const HISTORY_LIMIT = 50;

export class Recovery {
  readonly history: RecoveryEvent[] = [];
  private attemptTimer: ReturnType<typeof setTimeout> | undefined;
  private replacementTimer: ReturnType<typeof setTimeout> | undefined;
  private cancelled = false;
  private attempting = false;

  constructor(private readonly s: RecoveringSession) {}

  private note(event: RecoveryEvent["event"], detail: string): void {
    this.history.push({ at: Date.now(), event, detail });
    if (this.history.length > HISTORY_LIMIT) this.history.shift();
  }

  connectionLost(error: Error): void {
    const s = this.s;
    const opts = s.recoveryOptions;
    this.note("lost", error.message);
    if (!opts.enabled) {
      s.transition({ kind: "failed", error }, `connection lost: ${error.message}`);
      s.failEverything(error);
      return;
    }
    s.log.warn(`connection lost: ${error.message}; reinstating`);
    s.requeueOutstanding(error);
    const since = Date.now();
    s.transition({ kind: "recovering", since, attempt: 0, error, ioFailed: false }, error.message);
    this.cancelled = false;
    if (opts.replacementTimeoutMs === 0) this.replacementExpired(error);
    else if (opts.replacementTimeoutMs > 0) {
      this.replacementTimer = setTimeout(() => this.replacementExpired(error), opts.replacementTimeoutMs);
    }
    // RFC 7143 §13.15: wait DefaultTime2Wait before reconnecting, or the Time2Wait an Async Message announced
    // with this drop (§11.9.1); clamp what the target asked for.
    const asked = s.takeTime2WaitHint() ?? s.negotiated.defaultTime2Wait;
    const time2Wait = Math.min(Math.max(asked, 0), 3600) * 1000;
    this.schedule(Math.min(time2Wait, opts.maxBackoffMs));
  }

  /** The network came back (or the machine woke): try to log in now instead of waiting out the backoff. */
  retryNow(): void {
    if (this.cancelled || this.attempting || this.s.state.kind !== "recovering") return;
    this.schedule(0);
  }

  cancel(): void {
    this.cancelled = true;
    clearTimeout(this.attemptTimer);
    clearTimeout(this.replacementTimer);
  }

  private replacementExpired(error: Error): void {
    const s = this.s;
    if (s.state.kind !== "recovering") return;
    const wait = s.recoveryOptions.replacementTimeoutMs;
    const failure = new IscsiError(
      "TRANSPORT",
      `I/O failed: the target ${s.portal.host}:${s.portal.port} has been unreachable ${wait === 0 ? "and the replacement timeout is 0" : `for the replacement timeout of ${wait / 1000} s`} (${error.message})`,
      { cause: error },
    );
    s.transition({ ...s.state, ioFailed: true }, "replacement timeout passed");
    this.note("io-failed", failure.message);
    s.log.warn(failure.message);
    s.failQueued(failure);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.attemptTimer);
    this.attemptTimer = setTimeout(() => void this.attempt(), delayMs);
  }

  private async attempt(): Promise<void> {
    const s = this.s;
    if (this.cancelled || s.state.kind !== "recovering") return;
    const attempt = s.state.attempt + 1;
    s.transition({ ...s.state, attempt }, `login attempt ${attempt}`);
    this.attempting = true;
    try {
      // Reinstatement: same ISID, TSIH 0, CmdSN continuing where we were (RFC 7143 §6.3.5).
      const opened = await reconnect(s);
      if (this.cancelled || s.state.kind !== "recovering") {
        opened.connection.close();
        return;
      }
      s.tasks.nextGeneration();
      s.adopt(opened);
      s.transition({ kind: "verifying" }, `logged in again (attempt ${attempt})`);
      await this.verifyIdentities();
      if (stateOf(s) !== "verifying") return;
      clearTimeout(this.replacementTimer);
      s.stats.reinstatements++;
      this.note("reinstated", `attempt ${attempt}, ${s.portal.host}:${s.portal.port}`);
      s.transition({ kind: "full-feature" }, "session reinstated; re-issuing queued commands");
      s.pump();
    } catch (err) {
      if (this.cancelled) return;
      const e = err as Error;
      if (stateOf(s) === "verifying") {
        // The new connection died while we were checking: start over as a fresh loss.
        if (s.connection.closed) return;
        s.connection.close(e);
        return;
      }
      if (s.state.kind !== "recovering") return;
      this.note("attempt-failed", e.message);
      const backoff = Math.min(s.recoveryOptions.maxBackoffMs, 1000 * 2 ** Math.min(attempt, 10));
      const delay = Math.round(backoff * (0.5 + Math.random() * 0.5));
      s.log.warn(`reinstatement attempt ${attempt} failed: ${e.message}; next in ${(delay / 1000).toFixed(1)} s`);
      this.schedule(delay);
    } finally {
      this.attempting = false;
    }
  }

  /** Each LU used before must still be the same LU (VPD 0x80/0x83 + capacity); otherwise its queued I/O fails. */
  private async verifyIdentities(): Promise<void> {
    const s = this.s;
    for (const [lun, before] of s.recordedIdentities()) {
      const now = await identityOf(new LogicalUnit(s, lun, { priority: true }));
      if (now === before) continue;
      const err = new IscsiError(
        "GENERIC",
        `LUN ${lun} of ${s.targetName ?? "the target"} is not the same logical unit after reconnecting (was ${before}, now ${now}); its I/O is failed to protect the data`,
      );
      this.note("identity-changed", err.message);
      s.log.error(err.message);
      s.transition({ kind: "failed", error: err }, "LU identity changed");
      s.failEverything(err);
      s.connection.close(err);
      return;
    }
  }
}

/** The state as it is now (TypeScript would keep the narrowing from before an await). */
const stateOf = (s: RecoveringSession): SessionState["kind"] => s.state.kind;
