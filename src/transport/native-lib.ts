// Loads the native transport's shim (ffi/net/native_tcp.c and bound_connect.c, built by ffi/net/build.sh) once, and checks its ABI:
// $ISCSI_NET_LIB, else the copy embedded in a compiled binary, else the checkout's build (ffi-lib.ts).
import { dlopen } from "bun:ffi";
import { ffiLibPath, type FfiLib } from "./ffi-lib.ts";
import { TransportError } from "./errors.ts";

const ABI_VERSION = 3;

export const NET_LIB: FfiLib = {
  base: "libiscsi_net",
  env: "ISCSI_NET_LIB",
  label: "the native transport library",
  build: "sh ffi/net/build.sh",
};

const SYMBOLS = {
  nt_abi_version: { args: [], returns: "i32" },
  nt_would_block: { args: [], returns: "i32" },
  nt_recv: { args: ["i32", "ptr", "i32"], returns: "i32" },
  nt_send: { args: ["i32", "ptr", "i32"], returns: "i32" },
  nt_strerror: { args: ["i32"], returns: "cstring" },
  nt_watch: { args: ["i32", "ptr"], returns: "ptr" },
  nt_arm: { args: ["ptr"], returns: "i32" },
  nt_unwatch: { args: ["ptr"], returns: "void" },
  nb_connect: { args: ["ptr", "i32", "ptr", "ptr"], returns: "i32" },
  nb_connect_result: { args: ["i32"], returns: "i32" },
  nb_close: { args: ["i32"], returns: "i32" },
} as const;

export type NativeSymbols = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];

export interface NativeLib {
  /** The file loaded (for an embedded copy, where it was extracted). */
  path: string;
  symbols: NativeSymbols;
  /** The shim's "try again when the doorbell rings" result. */
  wouldBlock: number;
}

let loaded: Promise<NativeLib> | undefined;

/** The shim, loaded on first use; the outcome, library or error, is kept for the life of the process. */
export function loadNative(): Promise<NativeLib> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<NativeLib> {
  if (process.platform !== "linux")
    throw new TransportError(`the native transport is Linux-only (this is ${process.platform}); use the Bun transport`);
  let path: string;
  try {
    path = await ffiLibPath(NET_LIB);
  } catch (err) {
    throw new TransportError((err as Error).message, { cause: err });
  }
  let symbols: NativeSymbols;
  try {
    symbols = dlopen(path, SYMBOLS).symbols;
  } catch (err) {
    throw new TransportError(`cannot load the native transport library ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const abi = symbols.nt_abi_version();
  if (abi !== ABI_VERSION)
    throw new TransportError(
      `the native transport library ${path} has ABI ${abi}, expected ${ABI_VERSION}: rebuild it`,
    );
  return { path, symbols, wouldBlock: symbols.nt_would_block() };
}
