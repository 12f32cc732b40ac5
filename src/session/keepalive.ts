// NOP-Out keepalive (RFC 7143 §11.18; docs/architecture.md, "Recovery (ERL0)"): after `nopIntervalMs` without any PDU from the target
// we ping; if nothing at all arrives within `nopTimeoutMs` more, the connection is declared dead and dropped,
// which starts recovery. Any inbound PDU counts as life, so a busy link is never called dead (open-iscsi #97).
import { IscsiError } from "../contract/errors.ts";
import type { SessionCore } from "./core.ts";

/** What this helper may read and do of its session. */
type KeptAliveSession = Pick<SessionCore, "state" | "connection" | "recoveryOptions" | "requests" | "log">;

export class Keepalive {
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastHeard = 0;
  private heard = false;
  private pingSince: number | undefined;

  constructor(private readonly s: KeptAliveSession) {}

  /** Called for every inbound PDU: only a flag, the clock is read once per tick (a read per PDU showed in profiles). */
  activity(): void {
    this.heard = true;
  }

  start(): void {
    this.stop();
    const { nopIntervalMs, nopTimeoutMs } = this.s.recoveryOptions;
    if (nopIntervalMs <= 0) return;
    this.lastHeard = performance.now();
    this.heard = false;
    const tick = Math.max(50, Math.min(nopIntervalMs, nopTimeoutMs) / 4);
    this.timer = setInterval(() => this.check(nopIntervalMs, nopTimeoutMs), tick);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.pingSince = undefined;
  }

  private check(interval: number, timeout: number): void {
    const s = this.s;
    if (s.state.kind !== "full-feature" && s.state.kind !== "verifying") return;
    const now = performance.now();
    if (this.heard) {
      this.heard = false;
      this.lastHeard = now;
      this.pingSince = undefined;
    }
    if (this.pingSince !== undefined) {
      if (now - this.pingSince >= timeout && now - this.lastHeard >= timeout) {
        const silent = Math.round((now - this.lastHeard) / 1000);
        this.stop();
        s.connection.close(
          new IscsiError(
            "PDU_TIMEOUT",
            `no answer to NOP-Out from ${s.connection.peer} (silent for ${silent} s): connection considered dead`,
          ),
        );
      }
      return;
    }
    if (now - this.lastHeard >= interval) {
      this.pingSince = now;
      // The answer (or any other PDU) resets pingSince at the next tick; the ping's own timeout is ours.
      s.requests.ping(interval + timeout + 1000).catch(() => {});
    }
  }
}
