// Loads the native transport's shim (ffi/net/native_tcp.c, built by ffi/net/build.sh) once, and checks its ABI.
import { dlopen } from "bun:ffi";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { TransportError } from "./tcp.ts";

const ABI_VERSION = 3;

const SYMBOLS = {
  nt_abi_version: { args: [], returns: "i32" },
  nt_would_block: { args: [], returns: "i32" },
  nt_recv: { args: ["i32", "ptr", "i32"], returns: "i32" },
  nt_send: { args: ["i32", "ptr", "i32"], returns: "i32" },
  nt_strerror: { args: ["i32"], returns: "cstring" },
  nt_watch: { args: ["i32", "ptr"], returns: "ptr" },
  nt_arm: { args: ["ptr"], returns: "i32" },
  nt_unwatch: { args: ["ptr"], returns: "void" },
} as const;

export type NativeSymbols = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];

export interface NativeLib {
  symbols: NativeSymbols;
  /** The shim's "try again when the doorbell rings" result. */
  wouldBlock: number;
}

let loaded: NativeLib | undefined;

/** Where the shim is: $ISCSI_NET_LIB, else this checkout's ffi/build/<os>-<arch>/libiscsi_net.so. */
export function nativeLibPath(): string {
  return process.env.ISCSI_NET_LIB || join(import.meta.dir, "../../ffi/build", `${process.platform}-${process.arch}`, "libiscsi_net.so");
}

export function loadNative(): NativeLib {
  if (loaded) return loaded;
  const path = nativeLibPath();
  if (process.platform !== "linux") throw new TransportError(`the native transport is Linux-only (this is ${process.platform}); use the Bun transport`);
  if (!existsSync(path)) throw new TransportError(`native transport library ${path} not found: build it with \`sh ffi/net/build.sh\` or set ISCSI_NET_LIB`);
  let symbols: NativeSymbols;
  try {
    symbols = dlopen(path, SYMBOLS).symbols;
  } catch (err) {
    throw new TransportError(`cannot load the native transport library ${path}: ${(err as Error).message}`, { cause: err });
  }
  const abi = symbols.nt_abi_version();
  if (abi !== ABI_VERSION) throw new TransportError(`native transport library ${path} has ABI ${abi}, expected ${ABI_VERSION}: rebuild it`);
  loaded = { symbols, wouldBlock: symbols.nt_would_block() };
  return loaded;
}
