// A private `iscsi daemon` for the suite: temp state dir and socket (never the real defaults), started as a user
// would (`bun src/main.ts daemon`), its stderr kept in a log file, killed with its parent, stopped by pid.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { killPid, pollUntil, track, untrack, withParentDeathSignal, type TrackedProcess } from "./processes.ts";

export const MAIN = join(import.meta.dir, "../../src/main.ts");

export interface CliResult {
  stdout: string;
  stderr: string;
  code: number;
}

export class TestDaemon implements TrackedProcess {
  readonly dir: string;
  readonly stateDir: string;
  readonly socket: string;
  readonly logPath: string;
  private child: Subprocess | undefined;
  private stopped = false;

  /** argv that runs the program: `bun src/main.ts` unless a test runs a compiled executable. */
  readonly command: string[];
  /** The dashboard's port; undefined: started with --no-ui, so parallel test daemons never fight over 8339. */
  readonly uiPort: number | undefined;

  constructor(opts: { config?: string; command?: string[]; uiPort?: number } = {}) {
    this.command = opts.command ?? [process.execPath, MAIN];
    this.uiPort = opts.uiPort;
    this.dir = mkdtempSync(join(tmpdir(), "iscsi-daemon-"));
    this.stateDir = join(this.dir, "state");
    this.socket = join(this.dir, "iscsid.sock");
    this.logPath = join(this.dir, "daemon.log");
    if (opts.config !== undefined) this.writeConfig(opts.config);
    track(this);
  }

  get configPath(): string {
    return join(this.stateDir, "iscsid.conf");
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  writeConfig(text: string): void {
    Bun.spawnSync(["mkdir", "-p", "-m", "700", this.stateDir]);
    writeFileSync(this.configPath, text);
  }

  /** Environment that points the CLI at this daemon and nothing else. */
  get env(): Record<string, string> {
    return { ISCSI_SOCKET: this.socket, ISCSI_STATE_DIR: this.stateDir, ISCSI_CONFIG: this.configPath };
  }

  /** Spawns the daemon; resolves once it answers on its socket. */
  async start(timeoutMs = 10_000): Promise<void> {
    this.spawn();
    await pollUntil(
      async () => {
        if (this.child?.exitCode !== null && this.child?.exitCode !== undefined)
          throw new Error(`daemon exited with ${this.child.exitCode}:\n${this.log()}`);
        const r = await this.cli(["status", "--json"]);
        return r.code === 0 ? true : undefined;
      },
      timeoutMs,
      () => `daemon did not answer within ${timeoutMs} ms:\n${this.log()}`,
    );
  }

  /** Spawns without waiting (tests of startup failures wait for the exit themselves). */
  spawn(extraArgs: string[] = []): Subprocess {
    const logFd = openSync(this.logPath, "a");
    try {
      const ui = this.uiPort === undefined ? ["--no-ui"] : ["--ui-port", String(this.uiPort)];
      this.child = Bun.spawn(
        withParentDeathSignal([
          ...this.command,
          "daemon",
          "--state-dir",
          this.stateDir,
          "--socket",
          this.socket,
          ...ui,
          ...extraArgs,
        ]),
        {
          stdin: "ignore",
          stdout: logFd,
          stderr: logFd,
          env: { ...process.env, ISCSI_CONFIG: this.configPath },
        },
      );
    } finally {
      closeSync(logFd);
    }
    return this.child;
  }

  log(): string {
    try {
      return readFileSync(this.logPath, "utf8");
    } catch {
      return "";
    }
  }

  /** The CLI as a user runs it, against this daemon. */
  async cli(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
    const p = Bun.spawn([...this.command, ...args], {
      stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ...this.env, ...opts.env },
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    return { stdout, stderr, code };
  }

  /** SIGTERM (a clean stop: logouts, socket removed) and wait. */
  async terminate(): Promise<number | null> {
    const child = this.child;
    if (!child) return null;
    this.child = undefined;
    child.kill("SIGTERM");
    const timer = setTimeout(() => killPid(child.pid), 15_000);
    await child.exited;
    clearTimeout(timer);
    return child.exitCode;
  }

  async kill9(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    child.kill("SIGKILL");
    await child.exited;
  }

  killNow(): void {
    if (this.child) killPid(this.child.pid);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.terminate();
    rmSync(this.dir, { recursive: true, force: true });
    untrack(this);
  }
}
