// The path checker of a multipath device: watches each path's session (a recovering session takes its path
// down at once, and its queued commands are handed back to the device for another path) and sends TEST UNIT
// READY on every live path each polling interval, as dm-multipath's `tur` checker does (docs/multipath.md).
import { decodeSense, testUnitReady } from "../scsi/index.ts";
import type { DeviceSettings } from "./policy.ts";
import type { Path, PathState } from "./path.ts";

/** What the checker needs of its device (MultipathDevice fits it). */
export interface CheckedDevice {
  readonly paths: readonly Path[];
  readonly settings: DeviceSettings;
  readonly log: { info(message: string): void };
  pathChanged(path: Path): void;
}
import { IscsiError } from "../contract/errors.ts";

/** How often session states are looked at; cheap (no I/O), so a lost connection moves I/O within this. */
const WATCH_MS = 100;
const GOOD = 0x00;
const CHECK_CONDITION = 0x02;
const UNIT_ATTENTION = 0x06;

export class PathChecker {
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly lastCheck = new Map<Path, number>();
  private readonly checking = new Set<Path>();

  constructor(private readonly device: CheckedDevice) {}

  start(): void {
    this.timer ??= setInterval(() => this.watch(), WATCH_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A command failed on `path`: take it down now; the checker brings it back once a TEST UNIT READY passes. */
  suspect(path: Path, reason: string): void {
    if (path.up) this.set(path, { kind: "down", since: Date.now(), reason });
  }

  private watch(): void {
    const now = Date.now();
    const interval = this.device.settings.pollingIntervalMs;
    for (const path of this.device.paths) {
      const s = path.session.state;
      if (s.kind === "failed" || s.kind === "closed") {
        if (path.state.kind !== "failed")
          this.set(path, { kind: "failed", reason: `session ${s.kind}${s.error ? `: ${s.error.message}` : ""}` });
      } else if (s.kind !== "full-feature") {
        if (path.up) {
          this.set(path, {
            kind: "down",
            since: now,
            reason: `session ${s.kind}${s.error ? `: ${s.error.message}` : ""}`,
          });
          // Commands queued in a recovering session would wait for it: hand them back so they go to another path.
          if (s.kind === "recovering")
            path.session.failEverything(
              new IscsiError("TRANSPORT", `path ${path.name} is down: ${s.error?.message ?? s.kind}`),
            );
        }
      } else if (!this.checking.has(path) && (!path.up || now - (this.lastCheck.get(path) ?? 0) >= interval)) {
        void this.check(path, interval);
      }
    }
  }

  /** TEST UNIT READY on one path; GOOD (or a unit attention, which says the nexus works) keeps or brings it up. */
  private async check(path: Path, interval: number): Promise<void> {
    this.checking.add(path);
    this.lastCheck.set(path, Date.now());
    path.counters.checks++;
    const spec = testUnitReady();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = Math.min(30_000, Math.max(1000, interval));
    try {
      const r = await Promise.race([
        path.session.execute({ lun: path.lun, cdb: spec.cdb, direction: "none", transferLength: 0, name: spec.name }),
        new Promise<never>(
          (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${limit} ms`)), limit)),
        ),
      ]);
      const sense = r.sense && r.sense.length > 0 ? safeSenseKey(r.sense) : undefined;
      if (r.status === GOOD || (r.status === CHECK_CONDITION && sense === UNIT_ATTENTION)) {
        if (!path.up && path.session.state.kind === "full-feature" && this.device.paths.includes(path))
          this.set(path, { kind: "up" });
      } else {
        path.counters.checkFailures++;
        if (path.up)
          this.set(path, {
            kind: "down",
            since: Date.now(),
            reason: `TEST UNIT READY: status 0x${r.status.toString(16)}${sense !== undefined ? ` sense key ${sense}` : ""}`,
          });
      }
    } catch (err) {
      path.counters.checkFailures++;
      if (path.up)
        this.set(path, { kind: "down", since: Date.now(), reason: `TEST UNIT READY: ${(err as Error).message}` });
    } finally {
      clearTimeout(timer);
      this.checking.delete(path);
    }
  }

  private set(path: Path, next: PathState): void {
    const from = path.state.kind;
    path.state = next;
    if (from !== next.kind)
      this.device.log.info(`path ${path.name}: ${from} → ${next.kind}${"reason" in next ? ` (${next.reason})` : ""}`);
    this.device.pathChanged(path);
  }
}

function safeSenseKey(sense: Uint8Array): number | undefined {
  try {
    return decodeSense(sense).senseKey;
  } catch {
    return undefined;
  }
}
