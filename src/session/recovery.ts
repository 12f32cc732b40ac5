// ERL0 session recovery (RFC 7143 §7.1.5, §6.3.5 session reinstatement; design.md §3): after a lost
// connection, wait Time2Wait (clamped), log in again with the same ISID and TSIH 0 with capped exponential
// backoff and jitter, re-check the identity of every LU in use, then re-issue what was queued, in order.
// The replacement timeout (open-iscsi semantics: 0 fail at once, -1 wait forever, N ms) decides when
// waiting I/O fails; it never turns into success. Reconnecting goes on until logout or close.
import { IscsiError } from "../contract/errors.ts";
import { loginParamsFor, openConnection } from "./open.ts";
import type { Session, SessionState } from "./session.ts";
import { LogicalUnit, identityOf } from "./logical-unit.ts";

export interface RecoveryOptions {
  /** Reinstate after a lost connection (off: the session fails, as one-shot tools may prefer). */
  enabled: boolean;
  /** 0 = fail waiting I/O at once, -1 = never, else ms after the loss. open-iscsi's default is 120 s. */
  replacementTimeoutMs: number;
  /** Cap of the exponential backoff between login attempts. */
  maxBackoffMs: number;
  /** NOP-Out after this much silence (0 = off), and the connection is declared dead after nopTimeoutMs more. */
  nopIntervalMs: number;
  nopTimeoutMs: number;
  /** A command without status after this long is aborted (ABORT TASK → LUN RESET → drop); 0 = off. */
  commandTimeoutMs: number;
}

export const DEFAULT_RECOVERY: RecoveryOptions = {
  enabled: true,
  replacementTimeoutMs: 120_000,
  maxBackoffMs: 30_000,
  nopIntervalMs: 5_000,
  nopTimeoutMs: 5_000,
  commandTimeoutMs: 30_000,
};

export interface RecoveryEvent {
  at: number;
  event: "lost" | "attempt-failed" | "reinstated" | "io-failed" | "identity-changed";
  detail: string;
}

const HISTORY_LIMIT = 50;

export class Recovery {
  readonly history: RecoveryEvent[] = [];
  private attemptTimer: ReturnType<typeof setTimeout> | undefined;
  private replacementTimer: ReturnType<typeof setTimeout> | undefined;
  private cancelled = false;

  constructor(private readonly s: Session) {}

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
    const asked = s.time2WaitHint ?? s.negotiated.defaultTime2Wait;
    s.time2WaitHint = undefined;
    const time2Wait = Math.min(Math.max(asked, 0), 3600) * 1000;
    this.schedule(Math.min(time2Wait, opts.maxBackoffMs));
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
    const failure = new IscsiError("TRANSPORT", `I/O failed: the target ${s.portal.host}:${s.portal.port} has been unreachable ${wait === 0 ? "and the replacement timeout is 0" : `for the replacement timeout of ${wait / 1000} s`} (${error.message})`, { cause: error });
    s.state = { ...s.state, ioFailed: true };
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
    s.state = { ...s.state, attempt };
    try {
      // Reinstatement: same ISID, TSIH 0, CmdSN continuing where we were (RFC 7143 §6.3.5).
      const opened = await openConnection(s.options.portal, loginParamsFor(s.options.login, s.isid, s.window.cmdSN), `s${s.id}:c0`, s.options);
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
    }
  }

  /** Each LU used before must still be the same LU (VPD 0x80/0x83 + capacity); otherwise its queued I/O fails. */
  private async verifyIdentities(): Promise<void> {
    const s = this.s;
    for (const [lun, before] of s.identities) {
      const now = await identityOf(new LogicalUnit(s, lun, { priority: true }));
      if (now === before) continue;
      const err = new IscsiError("GENERIC", `LUN ${lun} of ${s.targetName ?? "the target"} is not the same logical unit after reconnecting (was ${before}, now ${now}); its I/O is failed to protect the data`);
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
const stateOf = (s: Session): SessionState["kind"] => s.state.kind;
