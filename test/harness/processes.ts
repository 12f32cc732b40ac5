// Child-process bookkeeping for the test harness: every daemon or tool it starts is registered here, killed by
// stopAllTargets(), on exit/signals, and by the kernel if this process dies; tools run with a hard timeout.
export { freePort } from "./net.ts";

export interface TrackedProcess {
  /** Synchronous SIGKILL, usable from an "exit" handler. */
  killNow(): void;
  /** Full asynchronous shutdown including temp-file cleanup. */
  stop(): Promise<void>;
}

const registry = new Set<TrackedProcess>();
let hooksInstalled = false;

export function track(entry: TrackedProcess): void {
  registry.add(entry);
  installExitHooks();
}

export function untrack(entry: TrackedProcess): void {
  registry.delete(entry);
}

/** Stops every target (and stray tool) this process started; safe to call more than once. */
export async function stopAllTargets(): Promise<void> {
  await Promise.allSettled([...registry].map((entry) => entry.stop()));
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const killAll = () => {
    for (const entry of registry) entry.killNow();
  };
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    // Kill the children, then let the signal's default action end us as it would have.
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal);
    });
  }
}

// QUIRK(bun): `bun test` emits no process "exit" event, so exit hooks alone would leak daemons.
// setpriv (util-linux) makes the kernel SIGKILL the child when this process dies, however it dies.
const SETPRIV = Bun.which("setpriv");

/** argv that execs `argv` with a parent-death SIGKILL (same pid, so tracking by pid still works). */
export function withParentDeathSignal(argv: string[]): string[] {
  return SETPRIV ? [SETPRIV, "--pdeathsig", "KILL", "--", ...argv] : argv;
}

export function killPid(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

export interface ToolResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** True when the harness killed the tool (timeout or stopWhen). */
  killed: boolean;
  timedOut: boolean;
}

export interface ToolOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Checked after every output chunk; returning true kills the tool and keeps what it printed. */
  stopWhen?: (stdout: string, stderr: string) => boolean;
}

/** Runs a command to completion (or kill), collecting stdout and stderr as text. */
export async function runTool(argv: string[], options: ToolOptions = {}): Promise<ToolResult> {
  const child = Bun.spawn(withParentDeathSignal(argv), {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...options.env },
  });
  const entry: TrackedProcess = {
    killNow: () => killPid(child.pid),
    stop: async () => {
      killPid(child.pid);
      await child.exited;
    },
  };
  track(entry);
  let killed = false;
  let timedOut = false;
  const out = { stdout: "", stderr: "" };
  const kill = () => {
    killed = true;
    child.kill("SIGKILL");
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, options.timeoutMs ?? 30_000);
  const pump = async (stream: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      out[key] += decoder.decode(chunk, { stream: true });
      if (!killed && options.stopWhen?.(out.stdout, out.stderr)) kill();
    }
  };
  try {
    await Promise.all([pump(child.stdout, "stdout"), pump(child.stderr, "stderr"), child.exited]);
  } finally {
    clearTimeout(timer);
    untrack(entry);
  }
  return { exitCode: killed ? null : child.exitCode, ...out, killed, timedOut };
}

/** Returns the result if the tool exited with status 0, else throws naming the command and its output. */
export function expectSuccess(argv: string[], result: ToolResult): ToolResult {
  if (result.exitCode === 0) return result;
  const why = result.timedOut ? "timed out" : result.killed ? "was killed" : `exited with ${result.exitCode}`;
  const output = `${result.stderr}${result.stdout}`.trim().slice(-2000);
  throw new Error(`${argv[0]} ${why}: ${argv.slice(1).join(" ")}\n${output}`);
}

/** Polls `check` every 25 ms until it returns a value, or throws describe() after timeoutMs. */
export async function pollUntil<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  describe: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(describe());
    await Bun.sleep(25);
  }
}
