// A multipath device: one logical unit reached over several paths (sessions to different portals), with the
// same `execute(task)` shape a session offers, so attachments sit on it (docs/multipath.md). Each command goes
// to a path chosen by policy; when its path fails, it is re-issued on another path (reads and writes, as
// dm-multipath does: the block layer never has two overlapping writes in flight). With no path up, commands
// wait up to no_path_retry, then fail; they never report success they did not get.
import { errorCodeOf, IscsiError } from "../contract/errors.ts";
import { logFor } from "../log.ts";
import type { ScsiExecutor } from "../session/executor.ts";
import { replayable, type ScsiResult, type ScsiTask } from "../session/task.ts";
import { PathChecker } from "./checker.ts";
import type { Path } from "./path.ts";
import { selectPath, type DeviceSettings, type SelectorState } from "./policy.ts";

export type { DeviceSettings } from "./policy.ts";

/** Errors that say the path, not the command, failed: the command is re-issued on another path. */
const PATH_ERRORS = new Set([
  "TRANSPORT",
  "ABORTED",
  "SESSION_NOT_FOUND",
  "TIMEOUT",
  "PDU_TIMEOUT",
  "DIGEST",
  "PROTOCOL",
]);

let nextDeviceId = 1;

export class MultipathDevice implements ScsiExecutor {
  readonly id = nextDeviceId++;
  readonly log;
  readonly paths: Path[] = [];
  private readonly identities = new Map<number, string>();
  readonly stats = { commands: 0, reissued: 0, noPathWaits: 0, noPathFailures: 0 };
  private readonly selector: SelectorState = { active: undefined, turn: 0 };
  private readonly waiting: Array<{ resolve: (p: Path) => void; reject: (e: Error) => void }> = [];
  /** Set when the last path went down; cleared when one comes up. */
  private noPathSince: number | undefined;
  private noPathTimer: ReturnType<typeof setTimeout> | undefined;
  /** no_path_retry has passed with no path: commands fail at once until a path comes up. */
  private ioFailed = false;
  private readonly checker: PathChecker;

  constructor(
    readonly name: string,
    readonly wwid: string,
    /** The full identity (VPD 0x80/0x83 and capacity) every path must report. */
    readonly identity: string,
    readonly targetName: string | undefined,
    public settings: DeviceSettings,
  ) {
    this.log = logFor(`mpath:${name}`);
    this.checker = new PathChecker(this);
  }

  /** Up when a path is up; recovering while a path may come back; failed when every path is gone for good. */
  get state(): { kind: string; error?: Error } {
    if (this.paths.some((p) => p.up)) return { kind: "full-feature" };
    if (this.paths.some((p) => p.state.kind === "down")) return { kind: "recovering" };
    const last = this.paths.at(-1);
    return {
      kind: "failed",
      error: new IscsiError(
        "TRANSPORT",
        `no path to ${this.name}${last && last.state.kind === "failed" ? `: ${last.state.reason}` : ""}`,
      ),
    };
  }

  /** Paths that take commands, best first (the order they joined). */
  upPaths(): Path[] {
    return this.paths.filter((p) => p.up);
  }

  /** The path failover would use now (for views). */
  get activePath(): Path | undefined {
    return this.settings.policy === "failover"
      ? this.selector.active?.up
        ? this.selector.active
        : this.upPaths()[0]
      : undefined;
  }

  /** A path joins (or replaces the path of the same node and LUN, whose session is gone). */
  addPath(path: Path): void {
    const old = this.paths.findIndex((p) => p.meta.key === path.meta.key && p.lun === path.lun);
    if (old >= 0) this.paths.splice(old, 1, path);
    else this.paths.push(path);
    this.log.info(
      `path ${path.name} ${old >= 0 ? "replaces the old path of its node" : "joined"} (${this.paths.length} path(s))`,
    );
    this.checker.start();
    this.pathChanged(path);
  }

  /** A path leaves (its session logged out); its commands are re-issued on the others. */
  removePath(path: Path): void {
    const i = this.paths.indexOf(path);
    if (i < 0) return;
    this.paths.splice(i, 1);
    if (this.selector.active === path) this.selector.active = undefined;
    this.log.info(`path ${path.name} left (${this.paths.length} path(s))`);
    if (this.paths.length === 0) this.checker.stop();
    this.pathChanged(path);
  }

  /** Stop the checker and fail whatever waits (the device is being dropped). */
  close(): void {
    this.checker.stop();
    this.failWaiting(new IscsiError("ABORTED", `multipath device ${this.name} removed`));
  }

  /** Called by the checker when a path changes state: releases waiting commands or starts the no-path clock. */
  pathChanged(path: Path): void {
    if (this.upPaths().length > 0) {
      this.noPathSince = undefined;
      this.ioFailed = false;
      clearTimeout(this.noPathTimer);
      this.noPathTimer = undefined;
      for (const w of this.waiting.splice(0)) w.resolve(this.pick()!);
      return;
    }
    if (this.noPathSince !== undefined) return;
    this.noPathSince = Date.now();
    const ms = this.settings.noPathRetryMs;
    this.log.warn(
      `no path up (last: ${path.name}, ${path.state.kind}); I/O ${ms < 0 ? "waits for a path" : `waits up to ${ms / 1000} s (no_path_retry)`}`,
    );
    if (ms === 0) this.giveUp();
    else if (ms > 0) this.noPathTimer = setTimeout(() => this.giveUp(), ms);
  }

  recordIdentity(lun: number, identity: string): void {
    this.identities.set(lun, identity);
  }

  recordedIdentity(lun: number): string | undefined {
    return this.identities.get(lun);
  }

  execute(task: ScsiTask, opts: { priority?: boolean } = {}): Promise<ScsiResult> {
    this.stats.commands++;
    return this.run(task, opts);
  }

  private async run(task: ScsiTask, opts: { priority?: boolean }): Promise<ScsiResult> {
    for (;;) {
      const path = this.pick() ?? (await this.waitForPath());
      const startedAt = path.started();
      try {
        const r = await path.session.execute({ ...task, lun: path.lun }, opts);
        path.completed(startedAt, task.transferLength);
        return r;
      } catch (err) {
        path.failed();
        if (!PATH_ERRORS.has(errorCodeOf(err))) throw err;
        if (!replayable(task))
          throw new IscsiError(
            "OUTCOME_UNKNOWN",
            `${task.name ?? "command"}: path ${path.name} failed before its status arrived; not re-issued because it is not idempotent`,
            { cause: err },
          );
        this.checker.suspect(path, (err as Error).message);
        path.counters.reissuedAway++;
        this.stats.reissued++;
        this.log.debug(`${task.name ?? "command"} failed on ${path.name} (${(err as Error).message}); re-issued`);
      }
    }
  }

  private pick(): Path | undefined {
    return selectPath(this.settings.policy, this.settings.failback, this.upPaths(), this.selector);
  }

  private waitForPath(): Promise<Path> {
    if (this.ioFailed) return Promise.reject(this.noPathError());
    this.stats.noPathWaits++;
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private giveUp(): void {
    this.ioFailed = true;
    this.noPathTimer = undefined;
    this.failWaiting(this.noPathError());
  }

  private failWaiting(err: Error): void {
    const w = this.waiting.splice(0);
    this.stats.noPathFailures += w.length;
    for (const x of w) x.reject(err);
  }

  private noPathError(): Error {
    const since = this.noPathSince !== undefined ? ` since ${new Date(this.noPathSince).toISOString()}` : "";
    return new IscsiError(
      "TRANSPORT",
      `multipath device ${this.name} (${this.targetName ?? "?"}) has no path up${since}; no_path_retry passed`,
    );
  }
}
