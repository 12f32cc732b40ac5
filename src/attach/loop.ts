// Linux block device plumbing for an attached LUN: the FUSE file becomes /dev/loopN through `losetup` with
// direct I/O (no second page cache, flushes reach the file), optionally mounted; and all of it undone again.
// Every tool runs asynchronously: the JavaScript thread serves the FUSE file these tools are waiting on.
import { existsSync, readFileSync } from "node:fs";
import { IscsiError } from "../contract/errors.ts";

const TOOL_TIMEOUT_MS = 60_000;

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], timeoutMs = TOOL_TIMEOUT_MS): Promise<RunResult> {
  let child: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
  try {
    child = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch (err) {
    throw new IscsiError("ATTACH_UNAVAILABLE", `cannot run ${argv[0]}: ${(err as Error).message}`, { cause: err });
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { stdout, stderr, code: child.signalCode ? null : code };
  } finally {
    clearTimeout(timer);
  }
}

function failed(argv: string[], r: RunResult): IscsiError {
  const why = r.code === null ? "was killed (timeout)" : `exited with ${r.code}`;
  return new IscsiError("GENERIC", `${argv.join(" ")} ${why}: ${r.stderr.trim() || r.stdout.trim()}`);
}

/** `losetup --find --show --direct-io=on`: a loop device over `file` with the LUN's sector size; returns /dev/loopN. */
export async function loopAttach(file: string, opts: { readOnly: boolean; sectorSize: number }): Promise<string> {
  const argv = [
    "losetup",
    "--find",
    "--show",
    "--direct-io=on",
    `--sector-size=${opts.sectorSize}`,
    ...(opts.readOnly ? ["--read-only"] : []),
    file,
  ];
  const r = await run(argv);
  const device = r.stdout.trim();
  if (r.code !== 0 || !/^\/dev\/loop\d+$/.test(device)) throw failed(argv, r);
  return device;
}

/** Whether the kernel took direct I/O for this loop device (it falls back to buffered I/O silently). */
export function loopDirectIo(device: string): boolean {
  try {
    return readFileSync(`/sys/block/${device.replace("/dev/", "")}/loop/dio`, "utf8").trim() === "1";
  } catch {
    return false;
  }
}

/** The file behind a loop device, or undefined once it is detached. */
export function loopBackingFile(device: string): string | undefined {
  try {
    return readFileSync(`/sys/block/${device.replace("/dev/", "")}/loop/backing_file`, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** `losetup -d`; the kernel defers the detach while someone still has the device open, so wait for it (bounded). */
export async function loopDetach(device: string, file: string, waitMs = 10_000): Promise<void> {
  if (loopBackingFile(device) !== file) return;
  const argv = ["losetup", "-d", device];
  const r = await run(argv);
  if (r.code !== 0 && loopBackingFile(device) === file) throw failed(argv, r);
  const deadline = Date.now() + waitMs;
  while (loopBackingFile(device) === file) {
    if (Date.now() > deadline)
      throw new IscsiError(
        "BUSY",
        `${device} is still in use ${waitMs / 1000} s after losetup -d; it goes away once its last user closes it`,
      );
    await Bun.sleep(50);
  }
}

export async function mountDevice(device: string, dir: string, opts: { readOnly: boolean }): Promise<void> {
  const argv = ["mount", ...(opts.readOnly ? ["-o", "ro"] : []), device, dir];
  const r = await run(argv);
  if (r.code !== 0) throw failed(argv, r);
}

/** Is `dir` a mount point now (per /proc/self/mountinfo, octal escapes decoded)? */
export function isMountPoint(dir: string): boolean {
  if (!existsSync("/proc/self/mountinfo")) return false;
  const decode = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((line) => decode(line.split(" ")[4] ?? "") === dir);
}

/** `umount`, or `umount -l` (lazy: detached now, torn down when the last user lets go) when forced. */
export async function unmountDir(dir: string, opts: { lazy: boolean }): Promise<void> {
  if (!isMountPoint(dir)) return;
  const argv = ["umount", ...(opts.lazy ? ["-l"] : []), dir];
  const r = await run(argv);
  if (r.code !== 0 && isMountPoint(dir)) {
    const busy = /busy/i.test(r.stderr);
    throw new IscsiError(
      busy ? "BUSY" : "GENERIC",
      `${busy ? `${dir} is busy (files open on it); close them or detach with --force. ` : ""}${argv.join(" ")}: ${r.stderr.trim()}`,
    );
  }
}
