// Shared pieces of the attach tests: shell commands run as child processes (never file I/O on an attached disk
// from this thread, which serves it), and a sweep that leaves no FUSE mount or loop device of ours behind.
import { readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Attachment } from "../../src/attach/attachment.ts";

export interface Sh {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `bash -c cmd` asynchronously; the event loop stays free to serve the attached LUN. */
export async function sh(cmd: string, opts: { timeoutMs?: number } = {}): Promise<Sh> {
  const p = Bun.spawn(["bash", "-c", cmd], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Like sh(), but throws with the output unless the command exits 0. */
export async function ok(cmd: string, opts: { timeoutMs?: number } = {}): Promise<string> {
  const r = await sh(cmd, opts);
  if (r.code !== 0) throw new Error(`\`${cmd}\` exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** Mount points of FUSE filesystems whose path contains `marker` (octal escapes of /proc decoded). */
export function fuseMounts(marker = "iscsi-attach-"): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes(" - fuse"))
    .map((l) => (l.split(" ")[4] ?? "").replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m.includes(marker));
}

/** Loop devices whose backing file contains `marker`. */
export function loopDevices(marker = "iscsi-attach-"): string[] {
  const out: string[] = [];
  for (const name of readdirSync("/sys/block").filter((n) => n.startsWith("loop"))) {
    try {
      if (readFileSync(`/sys/block/${name}/loop/backing_file`, "utf8").includes(marker)) out.push(`/dev/${name}`);
    } catch {
      // not bound
    }
  }
  return out;
}

/** Attachments a test made, detached by force afterwards whatever happened. */
export const made = new Set<Attachment>();

export async function cleanup(): Promise<void> {
  for (const a of made) await a.detach({ force: true }).catch(() => {});
  made.clear();
}

export const TMP = tmpdir();
