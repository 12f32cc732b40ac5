// Finds one of our C libraries for bun:ffi (the attach library of ffi/build.sh, the native transport's shim of
// ffi/net/build.sh): the file its environment variable names, else the copy embedded in a compiled binary
// (extracted once into a private cache dir), else <exe dir>/../libexec/iscsi (Homebrew layout), else this
// checkout's ffi/build/<os>-<arch>/. It imports nothing of ours, so the transport (a leaf) can use it too.
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { suffix } from "bun:ffi";

/** One of our libraries: its base name, the variable that names another file instead, and words for messages. */
export interface FfiLib {
  /** `libiscsi_net`: the file is libiscsi_net.so (.dylib on macOS). */
  base: string;
  /** `ISCSI_NET_LIB` */
  env: string;
  /** `the native transport library` */
  label: string;
  /** The command that builds it from a checkout: `sh ffi/net/build.sh` */
  build: string;
}

/** Where a library is, without extracting or loading anything (what `iscsi doctor` reports). */
export type FfiLibLocation =
  | { kind: "file"; source: "env" | "libexec" | "build"; path: string }
  | { kind: "embedded"; name: string; bytes: number; blob: Blob }
  /** `fix` says what to do: build it, use a build that embeds it, or correct the variable. */
  | { kind: "missing"; problem: string; fix: string };

export const ffiLibFileName = (lib: FfiLib): string => `${lib.base}.${suffix}`;

export function platformKey(): string {
  const os = process.platform === "darwin" ? "darwin" : "linux";
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  return `${os}-${arch}`;
}

/** Where this checkout's build script puts the library (meaningless inside a compiled binary). */
export function ffiBuildPath(lib: FfiLib): string {
  return join(import.meta.dir, "..", "..", "ffi", "build", platformKey(), ffiLibFileName(lib));
}

export function locateFfiLib(lib: FfiLib): FfiLibLocation {
  const fromEnv = process.env[lib.env];
  if (fromEnv) {
    if (existsSync(fromEnv)) return { kind: "file", source: "env", path: fromEnv };
    return {
      kind: "missing",
      problem: `$${lib.env} names ${fromEnv}, which does not exist`,
      fix: `unset ${lib.env} or point it at ${ffiLibFileName(lib)}`,
    };
  }
  const name = ffiLibFileName(lib);
  if (Bun.isStandaloneExecutable) {
    // `bun build --compile` may add a hash to an asset's name unless told otherwise (scripts/build.ts does).
    const pattern = new RegExp(`^${lib.base}(-[A-Za-z0-9]+)?\\.${suffix}$`);
    const blob = Bun.embeddedFiles.find((f) => pattern.test(basename((f as Blob & { name?: string }).name ?? "")));
    if (blob) return { kind: "embedded", name, bytes: blob.size, blob };
  }
  const tried = ["(no copy embedded in this executable)"];
  const places: Array<["libexec" | "build", string]> = [
    ["libexec", join(dirname(process.execPath), "..", "libexec", "iscsi", name)],
  ];
  if (!Bun.isStandaloneExecutable) places.push(["build", ffiBuildPath(lib)]);
  for (const [source, path] of places) {
    tried.push(path);
    if (existsSync(path)) return { kind: "file", source, path };
  }
  const fix = Bun.isStandaloneExecutable
    ? `use a build made where \`${lib.build}\` works (\`bun run build\` embeds the library), or set ${lib.env}`
    : `build it with \`${lib.build}\`, or set ${lib.env}`;
  return { kind: "missing", problem: `${lib.label} ${name} was not found; looked at: ${tried.join(", ")}`, fix };
}

/** A path dlopen can take: the file found, or the embedded copy extracted; else an error that says why there is none. */
export async function ffiLibPath(lib: FfiLib): Promise<string> {
  const at = locateFfiLib(lib);
  if (at.kind === "missing") throw new Error(`${at.problem}: ${at.fix}`);
  return at.kind === "file" ? at.path : extract(lib, new Uint8Array(await at.blob.arrayBuffer()));
}

/** Writes the embedded bytes once to a private cache dir, named by their hash, and checks what is there. */
function extract(lib: FfiLib, bytes: Uint8Array): string {
  const hash = createHash("sha256").update(bytes).digest("hex");
  const uid = process.getuid?.() ?? 0;
  const dir = join(process.env.TMPDIR || tmpdir(), `iscsi-ffi-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  // Someone else's directory (or a symlink planted in a shared $TMPDIR) must never hold code we load.
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new Error(`cannot use ${dir} to hold ${lib.label}: it must be a directory owned by us with mode 0700`);
  }
  const path = join(dir, `${lib.base}-${hash.slice(0, 16)}.${suffix}`);
  const sameBytes = () => existsSync(path) && createHash("sha256").update(readFileSync(path)).digest("hex") === hash;
  if (!sameBytes()) {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes, { mode: 0o500 });
    renameSync(tmp, path);
    if (!sameBytes()) throw new Error(`${lib.label} extracted to ${path} does not match the embedded copy`);
  }
  return path;
}
