// One path of a multipath device: a session to one portal of the target, and the LUN number the LU has
// there. Holds the path's state as the checker and the device see it, and its counters (docs/multipath.md).
import type { ScsiExecutor } from "../session/executor.ts";

/** A path's session: it runs commands and can hand back every queued one (Session fits as it is). */
export interface PathSession extends ScsiExecutor {
  failEverything(error: Error): void;
}

export type PathState =
  | { kind: "up" }
  /** Its session is recovering, or TEST UNIT READY failed; `reason` says which. */
  | { kind: "down"; since: number; reason: string }
  /** Its session failed or closed for good; a new login of the same node replaces the path. */
  | { kind: "failed"; reason: string };

/** Who the path is, for views: the daemon's session id, node key and portal. */
export interface PathMeta {
  sid: number;
  key: string;
  target: string;
  portal: { host: string; port: number };
}

/** Smoothing of the service-time estimate: each completion moves it this far toward the new sample. */
const EWMA_WEIGHT = 0.2;

export class Path {
  state: PathState;
  /** Commands sent on this path and not yet settled (queue-length, service-time). */
  inFlight = 0;
  /** Mean time from send to status in µs, smoothed; 0 until the first completion. */
  serviceMicros = 0;
  readonly counters = { commands: 0, completed: 0, errors: 0, reissuedAway: 0, checks: 0, checkFailures: 0, bytes: 0 };

  constructor(
    readonly session: PathSession,
    readonly lun: number,
    readonly meta: PathMeta,
  ) {
    this.state =
      session.state.kind === "full-feature"
        ? { kind: "up" }
        : { kind: "down", since: Date.now(), reason: `session ${session.state.kind}` };
  }

  get name(): string {
    return `s${this.meta.sid} ${this.meta.portal.host}:${this.meta.portal.port} lun ${this.lun}`;
  }

  get up(): boolean {
    return this.state.kind === "up";
  }

  started(): number {
    this.inFlight++;
    this.counters.commands++;
    return performance.now();
  }

  completed(startedAt: number, bytes: number): void {
    this.inFlight--;
    this.counters.completed++;
    this.counters.bytes += bytes;
    const micros = (performance.now() - startedAt) * 1000;
    this.serviceMicros =
      this.serviceMicros === 0 ? micros : this.serviceMicros + EWMA_WEIGHT * (micros - this.serviceMicros);
  }

  failed(): void {
    this.inFlight--;
    this.counters.errors++;
  }
}
