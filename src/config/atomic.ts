// Crash-safe files for the node database and secrets (reliability.md #86, #88): a private temp file created
// exclusively next to the target, fsync, rename over it; private directories that are not symlinks.
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { IscsiError } from "../contract/errors.ts";

/** Replaces `path` with `data` so a crash leaves either the old or the new content, never a torn file. */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    // "wx": O_CREAT|O_EXCL, so a planted file or symlink at the temp name makes us fail instead of follow it.
    const fd = openSync(tmp, "wx", mode);
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new IscsiError("NODE_DB", `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
  syncDir(dir);
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every file system lets a directory be fsynced; the rename itself is still atomic.
  }
}

/** Creates `path` (and parents) as a directory only we can read; refuses a symlink or a non-directory. */
export function ensurePrivateDir(path: string): void {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    const st = lstatSync(path);
    if (!st.isDirectory()) throw new Error("exists and is not a directory (or is a symlink)");
  } catch (err) {
    throw new IscsiError("NODE_DB", `cannot use ${path} as a state directory: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
