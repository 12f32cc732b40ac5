// Builds the native transport's shim (ffi/net/build.sh) when it is missing or older than its source, so
// tests of the native transport run from a fresh checkout.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { ffiBuildPath } from "../../src/transport/ffi-lib.ts";
import { NET_LIB } from "../../src/transport/native-lib.ts";

const ROOT = join(import.meta.dir, "../..");
const SOURCE = join(ROOT, "ffi/net/native_tcp.c");

export function ensureNativeLib(): string {
  const lib = ffiBuildPath(NET_LIB);
  if (existsSync(lib) && statSync(lib).mtimeMs >= statSync(SOURCE).mtimeMs) return lib;
  const r = Bun.spawnSync(["sh", join(ROOT, "ffi/net/build.sh")], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`ffi/net/build.sh failed: ${r.stderr.toString()}`);
  return lib;
}
