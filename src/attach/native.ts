// Loads the attach layer's C library (ffi/ring.c + ffi/fuse_backend.c, built by ffi/build.sh) once, found as
// transport/ffi-lib.ts finds our libraries: $ISCSI_ATTACH_LIB, else the copy embedded in a compiled binary,
// else <exe dir>/../libexec/iscsi (Homebrew layout), else the repository's ffi/build/<os>-<arch>/.
import { dlopen } from "bun:ffi";
import { IscsiError } from "../contract/errors.ts";
import { ffiLibPath, platformKey, type FfiLib } from "../transport/ffi-lib.ts";

/** The ABI version of ffi/iscsi_ring.h this code decodes. */
export const RING_ABI_VERSION = 1;

/** The ring of ffi/iscsi_ring.h (any library that carries ring.c: this one, or a test producer). */
export const RING_SYMBOLS = {
  iscsi_ring_abi_version: { args: [], returns: "u32" },
  iscsi_ring_create: { args: ["u32"], returns: "ptr" },
  iscsi_ring_doorbell_fd: { args: ["ptr"], returns: "i32" },
  iscsi_ring_pop: { args: ["ptr", "ptr", "u32"], returns: "u32" },
  iscsi_ring_complete: { args: ["ptr", "u64", "i32", "u32", "u32"], returns: "i32" },
  iscsi_ring_shutdown: { args: ["ptr"], returns: "void" },
  iscsi_ring_destroy: { args: ["ptr"], returns: "void" },
  iscsi_ring_get_stats: { args: ["ptr", "ptr"], returns: "void" },
} as const;

const SYMBOLS = {
  ...RING_SYMBOLS,
  iscsi_fuse_start: { args: ["ptr", "ptr", "ptr", "u64", "i32", "ptr", "u64"], returns: "ptr" },
  iscsi_fuse_shutdown: { args: ["ptr"], returns: "void" },
  iscsi_fuse_stop: { args: ["ptr"], returns: "i32" },
  iscsi_fuse_free: { args: ["ptr"], returns: "void" },
  iscsi_fuse_max_io: { args: ["ptr"], returns: "u32" },
} as const;

export type RingSymbols = ReturnType<typeof dlopen<typeof RING_SYMBOLS>>["symbols"];
export type AttachSymbols = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];

export interface RingLibrary {
  symbols: RingSymbols;
  /** dup(2) from the C library: the doorbell fd handed to Bun must be ours to close. */
  dup(fd: number): number;
}

export interface AttachLibrary extends RingLibrary {
  path: string;
  symbols: AttachSymbols;
}

let libc: { dup: (fd: number) => number } | undefined;

/** dup(2) through the C library already loaded in this process. */
export function dupFd(fd: number): number {
  libc ??= dlopen(process.platform === "darwin" ? "libSystem.B.dylib" : "libc.so.6", {
    dup: { args: ["i32"], returns: "i32" },
  }).symbols;
  return libc.dup(fd);
}

export const ATTACH_LIB: FfiLib = {
  base: "libiscsi_attach",
  env: "ISCSI_ATTACH_LIB",
  label: "the attach library",
  build: `bash ffi/build.sh ${platformKey()}`,
};

let loaded: Promise<AttachLibrary> | undefined;

/** Loads the library once; a clear ATTACH_UNAVAILABLE error names every place looked at. */
export function attachLibrary(): Promise<AttachLibrary> {
  loaded ??= load().catch((err) => {
    loaded = undefined;
    throw err;
  });
  return loaded;
}

async function load(): Promise<AttachLibrary> {
  let path: string;
  try {
    path = await ffiLibPath(ATTACH_LIB);
  } catch (err) {
    throw new IscsiError("ATTACH_UNAVAILABLE", (err as Error).message, { cause: err });
  }
  let symbols: AttachSymbols;
  try {
    symbols = dlopen(path, SYMBOLS).symbols;
  } catch (err) {
    throw new IscsiError("ATTACH_UNAVAILABLE", `cannot load the attach library ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const abi = symbols.iscsi_ring_abi_version();
  if (abi !== RING_ABI_VERSION)
    throw new IscsiError(
      "ATTACH_UNAVAILABLE",
      `the attach library ${path} speaks ring ABI ${abi}, this build expects ${RING_ABI_VERSION}`,
    );
  return { path, symbols, dup: dupFd };
}
