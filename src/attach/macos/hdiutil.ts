// macOS: the FUSE file that holds a LUN becomes a block device through DiskImages, `hdiutil attach
// -imagekey diskimage-class=CRawDiskImage -nomount` (docs/architecture.md, "Attaching a LUN"), and goes away with `hdiutil detach`.
// Written from hdiutil(1) and the -plist output shapes documented in plist fixtures of
// test/attach-macos/hdiutil.test.ts; it has never run on a Mac (docs/macos.md).
import { IscsiError } from "../../contract/errors.ts";
import { parsePlist, PlistError, type PlistValue } from "./plist.ts";

const HDIUTIL = "/usr/bin/hdiutil";
const WHOLE_DISK = /^\/dev\/disk\d+$/;
const ATTACH_TIMEOUT_MS = 60_000;
const DETACH_TIMEOUT_MS = 30_000;

export interface AttachImageOptions {
  readOnly?: boolean;
}

export interface DetachImageOptions {
  /** `hdiutil detach -force`: detach even while volumes on the device are in use (target down, stuck I/O). */
  force?: boolean;
}

/** argv of `hdiutil attach` for a raw image file: no partition-map probing, no mount, output as a plist. */
export function attachArgv(file: string, options: AttachImageOptions = {}): string[] {
  if (!file.startsWith("/"))
    throw new IscsiError(
      "INVALID_ARGUMENT",
      `hdiutil attach: the image path must be absolute, got ${JSON.stringify(file)}`,
    );
  // -noverify: a raw image has no checksum to verify; reading it all would only slow the attach down.
  return [
    HDIUTIL,
    "attach",
    "-imagekey",
    "diskimage-class=CRawDiskImage",
    "-nomount",
    "-noverify",
    "-plist",
    ...(options.readOnly ? ["-readonly"] : []),
    file,
  ];
}

/** argv of `hdiutil detach` for a whole-disk device node. */
export function detachArgv(device: string, options: DetachImageOptions = {}): string[] {
  if (!WHOLE_DISK.test(device))
    throw new IscsiError(
      "INVALID_ARGUMENT",
      `hdiutil detach: ${JSON.stringify(device)} is not a whole-disk device like /dev/disk4`,
    );
  return [HDIUTIL, "detach", ...(options.force ? ["-force"] : []), device];
}

function isDict(value: PlistValue | undefined): value is Record<string, PlistValue> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !(value instanceof Uint8Array)
  );
}

/** The whole-disk /dev/diskN among the `system-entities` of `hdiutil attach -plist` output. */
export function deviceFromAttachPlist(output: string): string {
  let root: PlistValue;
  try {
    root = parsePlist(output);
  } catch (error) {
    if (!(error instanceof PlistError)) throw error;
    throw new IscsiError(
      "GENERIC",
      `hdiutil attach printed output that is not a property list (${error.message}): ${output.slice(0, 200)}`,
      { cause: error },
    );
  }
  const entities = isDict(root) ? root["system-entities"] : undefined;
  if (!Array.isArray(entities)) throw new IscsiError("GENERIC", "hdiutil attach output has no system-entities array");
  const entries = entities.flatMap((entity) =>
    isDict(entity) && typeof entity["dev-entry"] === "string" ? [entity["dev-entry"]] : [],
  );
  const disks = entries.filter((entry) => WHOLE_DISK.test(entry));
  if (disks.length !== 1) {
    throw new IscsiError(
      "GENERIC",
      `hdiutil attach reported ${disks.length} whole disks (expected one) among device entries [${entries.join(", ")}]`,
    );
  }
  return disks[0]!;
}

export async function run(
  argv: string[],
  timeoutMs: number,
): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  const child = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const [stdout, stderr] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { exitCode: child.signalCode ? null : child.exitCode, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

export function failure(
  argv: string[],
  result: { exitCode: number | null; stderr: string },
  timeoutMs: number,
): IscsiError {
  const why =
    result.exitCode === null ? `did not finish within ${timeoutMs / 1000} s` : `exited with ${result.exitCode}`;
  return new IscsiError("GENERIC", `${argv.slice(0, 2).join(" ")} ${why}: ${result.stderr.trim().slice(-500)}`);
}

/** Attaches a raw image file (the FUSE file of a LUN) without mounting anything; returns its /dev/diskN. */
export async function attachImage(file: string, options: AttachImageOptions = {}): Promise<{ device: string }> {
  const argv = attachArgv(file, options);
  const result = await run(argv, ATTACH_TIMEOUT_MS);
  if (result.exitCode !== 0) throw failure(argv, result, ATTACH_TIMEOUT_MS);
  return { device: deviceFromAttachPlist(result.stdout) };
}

/** Detaches /dev/diskN (unmounting its volumes); `force` detaches even when they are busy. */
export async function detachImage(device: string, options: DetachImageOptions = {}): Promise<void> {
  const argv = detachArgv(device, options);
  const result = await run(argv, DETACH_TIMEOUT_MS);
  if (result.exitCode !== 0) throw failure(argv, result, DETACH_TIMEOUT_MS);
}
