// Finds and loads the attach layer's C library (ffi/ring.c + ffi/fuse_backend.c, built by ffi/build.sh):
// $ISCSI_ATTACH_LIB, else the copy embedded in a compiled binary (extracted once into a private cache dir),
// else <exe dir>/../libexec/iscsi (Homebrew layout), else the repository's ffi/build/<os>-<arch>/.
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { dlopen, suffix } from "bun:ffi";
import { IscsiError } from "../errors.ts";

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
  libc ??= dlopen(process.platform === "darwin" ? "libSystem.B.dylib" : "libc.so.6", { dup: { args: ["i32"], returns: "i32" } }).symbols;
  return libc.dup(fd);
}

export const LIB_NAME = `libiscsi_attach.${suffix}`;

export function platformKey(): string {
  const os = process.platform === "darwin" ? "darwin" : "linux";
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  return `${os}-${arch}`;
}

/** The copy embedded by `bun build --compile`, written once to a private cache dir named by its hash. */
async function extractEmbedded(): Promise<string | undefined> {
  if (!Bun.isStandaloneExecutable) return undefined;
  const pattern = new RegExp(`^libiscsi_attach(-[A-Za-z0-9]+)?\\.${suffix}$`);
  const blob = Bun.embeddedFiles.find((f) => pattern.test(basename((f as Blob & { name?: string }).name ?? "")));
  if (!blob) return undefined;
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const hash = createHash("sha256").update(bytes).digest("hex");
  const dir = join(process.env.TMPDIR || tmpdir(), `iscsi-attach-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  // Someone else's directory (or a symlink planted in a shared $TMPDIR) must never hold code we load.
  if (!st.isDirectory() || st.uid !== (process.getuid?.() ?? st.uid) || (st.mode & 0o077) !== 0) {
    throw new IscsiError("ATTACH_UNAVAILABLE", `cannot use ${dir} to hold the attach library: it must be a directory owned by us with mode 0700`);
  }
  const path = join(dir, `libiscsi_attach-${hash.slice(0, 16)}.${suffix}`);
  const sameBytes = (p: string) => existsSync(p) && createHash("sha256").update(readFileSync(p)).digest("hex") === hash;
  if (!sameBytes(path)) {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes, { mode: 0o500 });
    renameSync(tmp, path);
    if (!sameBytes(path)) throw new IscsiError("ATTACH_UNAVAILABLE", `the attach library extracted to ${path} does not match the embedded copy`);
  }
  return path;
}

function candidates(): string[] {
  const list: string[] = [];
  list.push(join(dirname(process.execPath), "..", "libexec", "iscsi", LIB_NAME));
  list.push(join(import.meta.dir, "..", "..", "ffi", "build", platformKey(), LIB_NAME));
  return list;
}

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
  const tried: string[] = [];
  const fromEnv = process.env.ISCSI_ATTACH_LIB;
  let path: string | undefined;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new IscsiError("ATTACH_UNAVAILABLE", `ISCSI_ATTACH_LIB names ${fromEnv}, which does not exist`);
    path = fromEnv;
  } else {
    path = await extractEmbedded();
    if (!path) tried.push("(no copy embedded in this executable)");
    for (const c of path ? [] : candidates()) {
      tried.push(c);
      if (existsSync(c)) {
        path = c;
        break;
      }
    }
  }
  if (!path) {
    throw new IscsiError("ATTACH_UNAVAILABLE", `the attach library ${LIB_NAME} was not found; looked at: ${tried.join(", ")}. Build it with \`bash ffi/build.sh ${platformKey()}\` or set ISCSI_ATTACH_LIB`);
  }
  let symbols: AttachSymbols;
  try {
    symbols = dlopen(path, SYMBOLS).symbols;
  } catch (err) {
    throw new IscsiError("ATTACH_UNAVAILABLE", `cannot load the attach library ${path}: ${(err as Error).message}`, { cause: err });
  }
  const abi = symbols.iscsi_ring_abi_version();
  if (abi !== RING_ABI_VERSION) throw new IscsiError("ATTACH_UNAVAILABLE", `the attach library ${path} speaks ring ABI ${abi}, this build expects ${RING_ABI_VERSION}`);
  return { path, symbols, dup: dupFd };
}
