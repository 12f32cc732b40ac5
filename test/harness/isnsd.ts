// An open-isns server (isnsd) for tests: its own config, database, PID file and control socket in a temp dir.
// isnsd always binds port 3205 on every address, so only one may run: a lock file under /tmp serialises the
// tests that start it, even across `bun test` processes. `isnsadm` talks to it over the control socket.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { makeTempDir } from "./daemon.ts";
import { isListeningBy } from "./net.ts";
import {
  expectSuccess,
  killPid,
  pollUntil,
  runTool,
  track,
  untrack,
  withParentDeathSignal,
  type TrackedProcess,
} from "./processes.ts";

export const ISNS_PORT = 3205;
const LOCK = "/tmp/iscsi-test-isnsd.lock";

export interface IsnsdOptions {
  /** isnsd's DefaultDiscoveryDomain: every node not in an administrative domain sees the others (default on). */
  defaultDiscoveryDomain?: boolean;
  /** Seconds before an entity that did not refresh is dropped (default 600). */
  registrationPeriod?: number;
}

export class Isnsd implements TrackedProcess {
  readonly host = "127.0.0.1";
  readonly port = ISNS_PORT;
  private child: Subprocess | undefined;

  private constructor(
    readonly dir: string,
    private readonly lockFd: number,
  ) {}

  get config(): string {
    return `${this.dir}/isnsd.conf`;
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  static async start(options: IsnsdOptions = {}): Promise<Isnsd> {
    const lockFd = await takeLock();
    const server = new Isnsd(makeTempDir("isnsd"), lockFd);
    track(server);
    try {
      await server.launch(options);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  private async launch(o: IsnsdOptions): Promise<void> {
    mkdirSync(`${this.dir}/db`);
    writeFileSync(
      this.config,
      [
        "SourceName = iqn.2026-11.dev.iscsi.test:isnsd",
        `Database = ${this.dir}/db`,
        `PIDFile = ${this.dir}/isnsd.pid`,
        `ControlSocket = ${this.dir}/control`,
        `RegistrationPeriod = ${o.registrationPeriod ?? 600}`,
        `DefaultDiscoveryDomain = ${o.defaultDiscoveryDomain === false ? 0 : 1}`,
        "Security = 0",
        "SLPRegister = 0",
        "SCNRetries = 3",
        "",
      ].join("\n"),
    );
    const log = Bun.file(`${this.dir}/isnsd.log`);
    this.child = Bun.spawn(
      withParentDeathSignal(["isnsd", "-f", "-c", this.config, "-d", process.env.ISNSD_DEBUG ?? "scn"]),
      { stdout: log, stderr: log },
    );
    await pollUntil(
      () => (isListeningBy(this.child!.pid, ISNS_PORT) && existsSync(`${this.dir}/control`) ? true : undefined),
      10_000,
      () => `isnsd did not listen on ${ISNS_PORT} within 10 s (is another isnsd running?): ${this.log().slice(-400)}`,
    );
  }

  /** `isnsadm --local ARGS` against this server; throws with stderr on failure. */
  async isnsadm(args: string[]): Promise<string> {
    const argv = ["isnsadm", "-c", this.config, "--local", ...args];
    return expectSuccess(argv, await runTool(argv, { timeoutMs: 10_000 })).stdout;
  }

  /** iSCSI names of every storage node the server holds (isnsadm --list nodes). */
  async nodeNames(): Promise<string[]> {
    return [...(await this.isnsadm(["--list", "nodes"])).matchAll(/iSCSI name = "([^"]+)"/g)].map((m) => m[1]!);
  }

  log(): string {
    try {
      return readFileSync(`${this.dir}/isnsd.log`, "utf8");
    } catch {
      return "";
    }
  }

  killNow(): void {
    if (this.child) killPid(this.child.pid);
  }

  async stop(): Promise<void> {
    untrack(this);
    if (this.child) {
      this.child.kill("SIGTERM");
      const exited = await Promise.race([this.child.exited.then(() => true), Bun.sleep(3000).then(() => false)]);
      if (!exited) killPid(this.child.pid);
      await this.child.exited;
      this.child = undefined;
    }
    rmSync(this.dir, { recursive: true, force: true });
    closeSync(this.lockFd);
    rmSync(LOCK, { force: true });
  }
}

/** The lock is a file created exclusively; a stale one (its pid gone) is taken over. */
async function takeLock(): Promise<number> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const fd = openSync(LOCK, "wx");
      writeFileSync(LOCK, String(process.pid));
      return fd;
    } catch {
      const owner = Number(readFileSync(LOCK, "utf8") || "0");
      if (owner > 0 && !alive(owner)) rmSync(LOCK, { force: true });
      else if (Date.now() > deadline) throw new Error(`isnsd lock ${LOCK} held by pid ${owner} for 120 s`);
      else await Bun.sleep(200);
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
