// Local files named on the command line: an output file is written to a temporary file beside it and renamed
// over it only on success ("-" is stdout, written in order); errors name the path; a closed pipe on stdout
// (`| head`) is recognised so main.ts can end quietly.
import { closeSync, fstatSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { IscsiError } from "../contract/errors.ts";

/** A local file error that names the path and what we were doing with it. */
export function fileError(path: string, doing: string, err: unknown): IscsiError {
  const e = err as NodeJS.ErrnoException;
  const why =
    e?.code === "ENOENT"
      ? "no such file or directory"
      : e?.code === "EACCES"
        ? "permission denied"
        : e?.code === "EISDIR"
          ? "is a directory"
          : (e?.message ?? String(err));
  return new IscsiError(e?.code === "EACCES" ? "ACCESS" : "INVALID_ARGUMENT", `cannot ${doing} ${path}: ${why}`, {
    cause: err,
  });
}

export function isBrokenPipe(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "EPIPE";
}

export interface OutputFile {
  /** Write all of `data` at byte `at` of the output (a stream gets the pieces in order). */
  write(at: number, data: Uint8Array): void | Promise<void>;
  /** fsync and rename over the named file; the result is visible only now. */
  commit(): void;
  /** Remove the temporary file; the named file is as it was. */
  abort(): void;
}

/** Write all of `data` to `fd`, at `position` or (null) at the current position. */
function writeAll(fd: number, data: Uint8Array, position: number | null): void {
  for (let off = 0; off < data.length; )
    off += writeSync(fd, data, off, data.length - off, position === null ? null : position + off);
}

/** Pieces that complete out of order go out to a stream (stdout, a pipe, a device) in order. */
function inOrder(sink: (data: Uint8Array) => void | Promise<void>, close = () => {}): OutputFile {
  const waiting = new Map<number, Uint8Array>();
  let cursor = 0;
  let flushing: Promise<void> | undefined;
  const flush = async () => {
    for (let next = waiting.get(cursor); next !== undefined; next = waiting.get(cursor)) {
      waiting.delete(cursor);
      await sink(next);
      cursor += next.length;
    }
  };
  return {
    async write(at, data) {
      waiting.set(at, data);
      while (flushing) await flushing;
      if (!waiting.has(cursor)) return;
      flushing = flush();
      try {
        await flushing;
      } finally {
        flushing = undefined;
      }
    },
    commit: close,
    abort: close,
  };
}

/** stdout is a non-blocking pipe under Bun: write through the stream and wait for it to drain. */
const toStdout = (data: Uint8Array) =>
  new Promise<void>((resolve) => (process.stdout.write(data) ? resolve() : process.stdout.once("drain", resolve)));

function existingNonFile(path: string): boolean {
  try {
    return !statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Open `path` for writing: "-" is stdout; a device or pipe is written in place (in order); a regular file goes
 * to a temporary file beside it that replaces it on commit, so a failed or refused request leaves it untouched.
 */
export function openOutput(path: string): OutputFile {
  if (path === "-") return inOrder(toStdout);
  if (existingNonFile(path)) {
    try {
      const fd = openSync(path, "w");
      return inOrder(
        (data) => writeAll(fd, data, null),
        () => closeSync(fd),
      );
    } catch (err) {
      throw fileError(path, "write", err);
    }
  }
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fd: number;
  try {
    fd = openSync(temp, "wx", 0o644);
  } catch (err) {
    throw fileError(path, "write", err);
  }
  let open = true;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  return {
    write(at, data) {
      try {
        writeAll(fd, data, at);
      } catch (err) {
        throw fileError(path, "write", err);
      }
    },
    commit() {
      try {
        fsyncSync(fd);
        close();
        renameSync(temp, path);
      } catch (err) {
        throw fileError(path, "write", err);
      }
    },
    abort() {
      close();
      try {
        unlinkSync(temp);
      } catch {}
    },
  };
}

export interface InputFile {
  fd: number;
  /** Bytes in the file. */
  size: number;
  close(): void;
}

/** Open the local file `path` for reading; errors name it. */
export function openInput(path: string): InputFile {
  try {
    const fd = openSync(path, "r");
    const st = fstatSync(fd);
    if (st.isDirectory()) {
      closeSync(fd);
      throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    }
    return { fd, size: st.size, close: () => closeSync(fd) };
  } catch (err) {
    throw fileError(path, "read", err);
  }
}
