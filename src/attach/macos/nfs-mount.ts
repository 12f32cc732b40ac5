// macOS side of the NFS route: mount the daemon's loopback export with the system's NFS client (no extension,
// no entitlement), then hand its one file to DiskImages (hdiutil.ts) for /dev/diskN. The argv builders and the
// `mount` output parser are portable and tested on Linux; running them has never happened on a Mac (docs/macos.md).
import { IscsiError } from "../../contract/errors.ts";
import { failure, run } from "./hdiutil.ts";

const MOUNT_NFS = "/sbin/mount_nfs";
const UMOUNT = "/sbin/umount";
const MOUNT = "/sbin/mount";
const MOUNT_TIMEOUT_MS = 30_000;
/** Export paths of ours (attachment.ts exportPathOf): the only NFS mounts we ever unmount. */
const OUR_EXPORT = /^\/iscsi\/[0-9a-f]{16}$/;

/** mount_nfs options, each with its reason (mount_nfs(8)). */
export function mountOptions(port: number): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new IscsiError("INVALID_ARGUMENT", `NFS port ${port} is not 1..65535`);
  return [
    "vers=3", // the server speaks NFSv3 only (RFC 1813), which needs no state and no ID mapping
    "tcp", // record-marked RPC over TCP is all it listens for
    `port=${port}`, // no portmapper: the NFS program's port is given...
    `mountport=${port}`, // ...and MOUNT is served on the same one
    "resvport", // the default, said out loud: the server refuses source ports >= 1024 (only root can bind below)
    "nolocks", // no NLM server; DiskImages is the file's only user
    "hard", // never turn a slow or recovering target into EIO under the filesystem on the disk image
    "intr", // but let a stuck process be interrupted
    "mutejukebox", // JUKEBOX while the iSCSI session recovers must not raise the "server not responding" dialog
    "rwsize=1048576", // matches the server's FSINFO rtmax/wtmax: 1 MiB per READ/WRITE
    "nobrowse", // keep the mount out of the Finder; the disk image is what users see
  ].join(",");
}

export function mountArgv(port: number, exportPath: string, dir: string): string[] {
  if (!OUR_EXPORT.test(exportPath))
    throw new IscsiError("INVALID_ARGUMENT", `${JSON.stringify(exportPath)} is not an export of ours`);
  if (!dir.startsWith("/"))
    throw new IscsiError("INVALID_ARGUMENT", `mount point ${JSON.stringify(dir)} must be absolute`);
  return [MOUNT_NFS, "-o", mountOptions(port), `127.0.0.1:${exportPath}`, dir];
}

export function unmountArgv(dir: string, force: boolean): string[] {
  return [UMOUNT, ...(force ? ["-f"] : []), dir];
}

/** Mount points of our exports in `mount` output (`127.0.0.1:/iscsi/ID on DIR (nfs, ...)`), to unmount at start. */
export function ourNfsMounts(mountOutput: string): string[] {
  const dirs: string[] = [];
  for (const line of mountOutput.split("\n")) {
    const m = /^127\.0\.0\.1:(\S+) on (.+) \(nfs[,)]/.exec(line);
    if (m && OUR_EXPORT.test(m[1]!)) dirs.push(m[2]!);
  }
  return dirs;
}

export async function mountExport(port: number, exportPath: string, dir: string): Promise<void> {
  const argv = mountArgv(port, exportPath, dir);
  const r = await run(argv, MOUNT_TIMEOUT_MS);
  if (r.exitCode !== 0) throw failure(argv, r, MOUNT_TIMEOUT_MS);
}

export async function unmountExport(dir: string, force: boolean): Promise<void> {
  const argv = unmountArgv(dir, force);
  const r = await run(argv, MOUNT_TIMEOUT_MS);
  if (r.exitCode !== 0) throw failure(argv, r, MOUNT_TIMEOUT_MS);
}

/**
 * At daemon start: a killed daemon leaves its NFS mounts behind, hanging (hard mounts of a server that is gone).
 * Force-unmounts every mount of one of our exports; returns what it unmounted. Failures are reported, not thrown.
 */
export async function unmountStale(warn: (msg: string) => void): Promise<string[]> {
  const listed = await run([MOUNT], MOUNT_TIMEOUT_MS);
  const done: string[] = [];
  for (const dir of ourNfsMounts(listed.stdout)) {
    try {
      await unmountExport(dir, true);
      done.push(dir);
    } catch (err) {
      warn(`stale NFS mount ${dir} not unmounted: ${(err as Error).message}`);
    }
  }
  return done;
}
