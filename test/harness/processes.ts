// Every target process a test starts is registered here and killed when the test process exits, so a
// failing test never leaves a target running. Also: free loopback ports and a bounded wait helper.
import type { Subprocess } from "bun";

const live = new Set<Subprocess>();

export function track(proc: Subprocess): void {
  live.add(proc);
  proc.exited.then(() => live.delete(proc));
}

export function killAllTracked(): void {
  for (const p of live) {
    try {
      p.kill("SIGKILL");
    } catch {}
  }
  live.clear();
}

process.on("exit", killAllTracked);

export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** Poll `ready` every 50 ms until it is true or `ms` pass; then throw with `what()`. */
export async function waitFor(ready: () => Promise<boolean> | boolean, ms: number, what: () => Promise<string> | string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ready()) return;
    await Bun.sleep(50);
  }
  throw new Error(await what());
}

/** Is something accepting TCP connections on 127.0.0.1:port? */
export async function listening(port: number): Promise<boolean> {
  try {
    const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

export async function run(cmd: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}
