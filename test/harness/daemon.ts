// Lifecycle shared by the tgtd and istgt harnesses: spawn on a loopback port, wait until the daemon itself
// listens there, configure, and kill9/restart/stop with the registry making sure nothing outlives the tests.
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Subprocess } from "bun";
import { freePort, isListeningBy } from "./net.ts";
import { killPid, pollUntil, track, untrack, withParentDeathSignal, type TrackedProcess } from "./processes.ts";

export interface ChapCredentials {
  username: string;
  secret: string;
}

export interface TargetLunInfo {
  lun: number;
  /** Backing file on disk (absent for tgtd's null backing store). */
  path?: string;
  sizeBytes: number;
}

export interface TargetInfo {
  iqn: string;
  luns: TargetLunInfo[];
  chap?: ChapCredentials;
  mutual?: ChapCredentials;
}

export interface StartedTarget {
  readonly kind: "tgtd" | "istgt" | "null-target";
  /** 127.0.0.1 unless the target runs in a network namespace of the lab (test/harness/netlab.ts). */
  readonly host: string;
  readonly port: number;
  /** "127.0.0.1:PORT" */
  readonly portal: string;
  readonly targets: TargetInfo[];
  /** Pid of the current daemon process (changes on restart). */
  readonly pid: number;
  /** Temp dir holding config, backing files and the daemon's log. */
  readonly dir: string;
  /** Everything the daemon printed so far (all runs). */
  log(): string;
  /** SIGKILL the daemon and wait for it to exit; config and backing files stay for restart(). */
  kill9(): Promise<void>;
  /** Start again on the same port with the same config and backing files (kills first if running). */
  restart(): Promise<void>;
  /** Kill, wait, remove temp files. Idempotent. */
  stop(): Promise<void>;
}

export const MiB = 1024 * 1024;
export const IQN_PREFIX = "iqn.2026-11.dev.iscsi.test";

export function iqnFor(name: string): string {
  return `${IQN_PREFIX}:${name}`;
}

export function makeTempDir(kind: string): string {
  return mkdtempSync(`${tmpdir()}/iscsi-harness-${kind}-`);
}

/** Creates (or keeps) a sparse file of exactly `bytes` bytes. */
export function createSparseFile(path: string, bytes: number): void {
  const fd = openSync(path, "a");
  try {
    ftruncateSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

/** A failure worth retrying on another (or the same, later) port. */
class PortConflict extends Error {}

const LOG_TAIL = 3000;

export abstract class TargetDaemon implements StartedTarget, TrackedProcess {
  abstract readonly kind: "tgtd" | "istgt" | "null-target";
  host = "127.0.0.1";
  port = 0;
  targets: TargetInfo[] = [];
  private child: Subprocess | undefined;
  private lastPid = 0;
  private stopped = false;
  /** Set once a run got ready, so cleanup() never touches files of a foreign daemon that beat us to a port. */
  private everReady = false;

  constructor(
    readonly dir: string,
    private readonly requestedPort: number | undefined,
    private readonly startTimeoutMs: number,
  ) {}

  get portal(): string {
    return `${this.host}:${this.port}`;
  }

  get pid(): number {
    return this.child?.pid ?? this.lastPid;
  }

  protected get logPath(): string {
    return `${this.dir}/${this.kind}.log`;
  }

  /** argv for one run of the daemon listening on `port`. */
  protected abstract argv(port: number): string[];
  /** Written before each spawn (config files); the port may differ between first attempts. */
  protected prepare(_port: number): void {}
  /** Extra readiness condition beyond "our pid listens on the port". */
  protected async ready(): Promise<boolean> {
    return true;
  }
  /** Does this run's log say the port (or another per-instance resource) is taken? Such failures are retried. */
  protected abstract portConflict(log: string): boolean;
  /** Runtime configuration after readiness (tgtadm for tgtd). */
  protected async configure(): Promise<void> {}
  /** Extra cleanup after the final stop (e.g. tgtd's control socket files). */
  protected cleanup(): void {}

  log(): string {
    try {
      return readFileSync(this.logPath, "utf8");
    } catch {
      return "";
    }
  }

  protected logTail(): string {
    return this.log().slice(-LOG_TAIL);
  }

  /** First start: a free port (retrying on conflicts) unless the caller asked for one. */
  async start(): Promise<void> {
    track(this);
    const attempts = this.requestedPort === undefined ? 6 : 10;
    for (let attempt = 1; ; attempt++) {
      const port = this.requestedPort ?? freePort();
      try {
        await this.launch(port);
        return;
      } catch (error) {
        if (!(error instanceof PortConflict) || attempt >= attempts) {
          await this.stop();
          throw error;
        }
        // A requested port may still be held by a dying process: give it time.
        if (this.requestedPort !== undefined) await Bun.sleep(200);
      }
    }
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error(`${this.kind}: restart() after stop()`);
    await this.kill9();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.launch(this.port);
      } catch (error) {
        if (!(error instanceof PortConflict) || attempt >= 15) throw error;
        await Bun.sleep(200);
      }
    }
  }

  private async launch(port: number): Promise<void> {
    this.port = port;
    this.prepare(port);
    const logStart = this.log().length;
    const logFd = openSync(this.logPath, "a");
    let child: Subprocess;
    try {
      child = Bun.spawn(withParentDeathSignal(this.argv(port)), { stdin: "ignore", stdout: logFd, stderr: logFd });
    } finally {
      closeSync(logFd);
    }
    this.child = child;
    this.lastPid = child.pid;
    const describe = () =>
      `${this.kind} did not get ready on ${this.portal} within ${this.startTimeoutMs} ms:\n${this.logTail()}`;
    await pollUntil(
      async () => {
        const exited = child.exitCode !== null || child.signalCode !== null;
        // A daemon may also stay up without its portal (tgtd does), so the log is checked while it runs.
        const conflict = this.portConflict(this.log().slice(logStart));
        if (exited || conflict) {
          await this.kill9();
          const what = exited ? `exited (${child.exitCode ?? child.signalCode})` : "failed to bind";
          const message = `${this.kind} ${what} while starting on ${this.portal}:\n${this.logTail()}`;
          throw conflict ? new PortConflict(message) : new Error(message);
        }
        return isListeningBy(child.pid, port) && (await this.ready()) ? true : undefined;
      },
      this.startTimeoutMs,
      describe,
    ).catch(async (error) => {
      await this.kill9();
      throw error;
    });
    this.everReady = true;
    await this.configure();
  }

  async kill9(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    child.kill("SIGKILL");
    // Bun reaps the child before `exited` resolves, so the pid is really gone afterwards.
    await child.exited;
  }

  killNow(): void {
    if (this.child) killPid(this.child.pid);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.kill9();
    if (this.everReady) this.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
    untrack(this);
  }
}
