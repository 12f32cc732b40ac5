// One daemon per state directory: an advisory flock(2) on <state dir>/iscsid.lock, held for the daemon's life.
// The kernel drops it when the holder dies (even by SIGKILL), so a stale lock is taken over with no liveness
// guess; the file carries the holder's pid so a refused second daemon can name it.
import { dlopen } from "bun:ffi";
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { IscsiError } from "../contract/errors.ts";

const LOCK_EX = 2;
const LOCK_NB = 4;

let libc: { flock: (fd: number, op: number) => number } | undefined;

function flock(fd: number, op: number): number {
  libc ??= dlopen(process.platform === "darwin" ? "libSystem.B.dylib" : "libc.so.6", {
    flock: { args: ["i32", "i32"], returns: "i32" },
  }).symbols;
  return libc.flock(fd, op);
}

export const lockPath = (stateDir: string) => join(stateDir, "iscsid.lock");

/** The pid written in the lock file, if it holds one. */
export function lockHolder(stateDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(lockPath(stateDir), "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface StateLock {
  release(): void;
}

/** Takes the lock or fails at once (BUSY) naming the pid that holds it. The fd stays open (close-on-exec) until release. */
export function lockStateDir(stateDir: string): StateLock {
  const path = lockPath(stateDir);
  let fd: number;
  try {
    fd = openSync(path, "a+", 0o600);
  } catch (err) {
    throw new IscsiError("NODE_DB", `cannot open the lock file ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    closeSync(fd);
    const pid = lockHolder(stateDir);
    throw new IscsiError(
      "BUSY",
      `state directory ${stateDir} is in use by another daemon${pid ? ` (pid ${pid})` : ""}; stop it first, or give this one its own --state-dir`,
    );
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      // Closing the only descriptor drops the flock; the file stays (removing it would race a starting daemon).
      closeSync(fd);
    },
  };
}
