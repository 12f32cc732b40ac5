// Builds the `iscsi` executables (docs/architecture.md, "One executable, three roles"): one `bun build --compile` per target, cross-compiled from any
// host, each embedding the C libraries that can be built here for it: the attach library (ffi/build.sh) and,
// on Linux, the native transport's shim (ffi/net/build.sh); dist/iscsi is the host's.
//
//   bun scripts/build.ts [--targets linux-x64,darwin-arm64,darwin-x64] [--out dist] [--json]
//                        [--shim-script ffi/build.sh] [--net-script ffi/net/build.sh] [--shim-out DIR]
//
// Progress goes to stderr, the summary table (or --json) to stdout. Exit 1 if a binary could not be built or
// the host's binary does not print package.json's version.
import { copyFileSync, existsSync, mkdirSync, openSync, readSync, closeSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import pkg from "../package.json" with { type: "json" };

const ROOT = resolve(import.meta.dir, "..");
const ALL_TARGETS = ["linux-x64", "darwin-arm64", "darwin-x64"] as const;
type Target = (typeof ALL_TARGETS)[number];
/** What describeBinary() must say of a target's executable and attach library. */
const EXPECTED_ARCH: Record<Target, string> = {
  "linux-x64": "ELF x86-64",
  "darwin-arm64": "Mach-O arm64",
  "darwin-x64": "Mach-O x86_64",
};
/** The libraries src/transport/ffi-lib.ts looks for in Bun.embeddedFiles, by the names they keep there. */
const LIBRARIES = ["libiscsi_attach", "libiscsi_net"] as const;
type Library = (typeof LIBRARIES)[number];

/** A library embedded (its file name), or why it is not. */
export type Embedding = { embedded: string } | { none: string };

export interface Built {
  target: Target;
  file: string;
  bytes: number;
  arch: string;
  libraries: Record<Library, Embedding>;
}

const say = (line: string) => process.stderr.write(`build: ${line}\n`);

function isTarget(t: string): t is Target {
  return (ALL_TARGETS as readonly string[]).includes(t);
}

/** The CPU and format a file header says, e.g. "ELF x86-64", "Mach-O arm64". */
export function describeBinary(path: string): string {
  const head = new Uint8Array(20);
  const fd = openSync(path, "r");
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const view = new DataView(head.buffer);
  if (head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) {
    const machine = view.getUint16(18, true);
    return `ELF ${({ 0x3e: "x86-64", 0xb7: "aarch64" } as Record<number, string>)[machine] ?? `machine 0x${machine.toString(16)}`}`;
  }
  if (view.getUint32(0, true) === 0xfeedfacf) {
    const cpu = view.getUint32(4, true);
    return `Mach-O ${({ 0x0100000c: "arm64", 0x01000007: "x86_64" } as Record<number, string>)[cpu] ?? `cputype 0x${cpu.toString(16)}`}`;
  }
  return "unknown format";
}

/** Runs an FFI build script for one target; returns the library it produced, or why there is none. */
async function buildShim(
  base: Library,
  script: string,
  target: Target,
  outDir: string,
): Promise<{ path: string } | { none: string }> {
  if (base === "libiscsi_net" && !target.startsWith("linux")) return { none: "the native transport is Linux-only" };
  if (!existsSync(script)) return { none: `no ${script.startsWith(ROOT) ? script.slice(ROOT.length + 1) : script}` };
  const ext = target.startsWith("darwin") ? "dylib" : "so";
  const lib = `${base}.${ext}`;
  // A stale library must not be embedded when this run's build fails.
  for (const dir of [outDir, join(outDir, target)]) rmSync(join(dir, lib), { force: true });
  say(`${target}: bash ${script} ${target} ${outDir}`);
  const p = Bun.spawn(["bash", script, target, outDir], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) {
    const last = (err.trim() || out.trim()).split("\n").slice(-1)[0] ?? "";
    return { none: `ffi build failed (exit ${code})${last ? `: ${last.slice(0, 120)}` : ""}` };
  }
  // The script's outdir is either the library's folder or its parent: accept both.
  const path = [outDir, join(outDir, target)].map((dir) => join(dir, lib)).find((p) => existsSync(p));
  if (!path) return { none: `ffi build succeeded but left no ${lib} in ${outDir}` };
  // A host compiler without a cross target makes a library for the wrong system: never embed that.
  const got = describeBinary(path);
  if (got !== EXPECTED_ARCH[target]) return { none: `ffi build made ${got}, not ${EXPECTED_ARCH[target]}` };
  return { path };
}

async function compile(target: Target, outFile: string, libraries: string[]): Promise<void> {
  const argv = [
    process.execPath,
    "build",
    join(ROOT, "src/main.ts"),
    ...libraries,
    "--compile",
    "--no-compile-autoload-bunfig",
    "--no-compile-autoload-dotenv",
    `--target=bun-${target}`,
    // Each library keeps its plain name inside the binary, so Bun.embeddedFiles finds it by name.
    "--asset-naming=[name].[ext]",
    "--outfile",
    outFile,
  ];
  const p = Bun.spawn(argv, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`bun build for ${target} failed (exit ${code}):\n${err || out}`);
}

export interface BuildOptions {
  targets: Target[];
  outDir: string;
  /** The build script of each library. */
  scripts: Record<Library, string>;
  /** Where shims are built; one folder per target below it. */
  shimOut: string;
}

export async function build(o: BuildOptions): Promise<Built[]> {
  mkdirSync(o.outDir, { recursive: true });
  const built: Built[] = [];
  for (const target of o.targets) {
    const started = performance.now();
    const libraries = {} as Record<Library, Embedding>;
    const paths: string[] = [];
    for (const base of LIBRARIES) {
      const shim = await buildShim(base, o.scripts[base], target, join(o.shimOut, target));
      if ("none" in shim) say(`${target}: no ${base} embedded (${shim.none})`);
      else paths.push(shim.path);
      libraries[base] = "path" in shim ? { embedded: shim.path.split("/").pop()! } : shim;
    }
    const file = join(o.outDir, `iscsi-${target}`);
    say(`${target}: bun build --compile → ${file}`);
    await compile(target, file, paths);
    const arch = describeBinary(file);
    if (arch !== EXPECTED_ARCH[target]) throw new Error(`${file} is ${arch}, not ${EXPECTED_ARCH[target]}`);
    built.push({ target, file, bytes: statSync(file).size, arch, libraries });
    say(`${target}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return built;
}

/** dist/iscsi: a copy of the host's binary (package.json "bin"), checked to print our version. */
async function installHostBinary(built: Built[], outDir: string): Promise<string | undefined> {
  const host = `${process.platform}-${process.arch}`;
  const mine = built.find((b) => b.target === host);
  if (!mine) {
    say(`host ${host} is not among the targets: no ${join(outDir, "iscsi")}`);
    return undefined;
  }
  const dest = join(outDir, "iscsi");
  rmSync(dest, { force: true });
  copyFileSync(mine.file, dest);
  const p = Bun.spawn([dest, "--version"], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  if (code !== 0 || out.trim() !== `iscsi ${pkg.version}`) {
    throw new Error(
      `${dest} --version printed ${JSON.stringify(out.trim())} (exit ${code}), expected "iscsi ${pkg.version}"`,
    );
  }
  say(`${dest} --version: ${out.trim()}`);
  return dest;
}

function printSummary(built: Built[]): void {
  const rows = built.map((b) => [
    b.file.startsWith(ROOT) ? b.file.slice(ROOT.length + 1) : b.file,
    `${(b.bytes / 2 ** 20).toFixed(1)} MiB`,
    b.arch,
    ...LIBRARIES.map((base) => {
      const e = b.libraries[base];
      return "embedded" in e ? e.embedded : `none (${e.none})`;
    }),
  ]);
  const cells = [["FILE", "SIZE", "ARCH", "ATTACH LIBRARY", "NET LIBRARY"], ...rows];
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  for (const r of cells)
    process.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ") + "\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      targets: { type: "string", default: ALL_TARGETS.join(",") },
      out: { type: "string", default: "dist" },
      "shim-script": { type: "string", default: "ffi/build.sh" },
      "net-script": { type: "string", default: "ffi/net/build.sh" },
      "shim-out": { type: "string", default: "ffi/build" },
      json: { type: "boolean", default: false },
    },
  });
  const targets = values.targets.split(",").map((t) => t.trim());
  const unknown = targets.filter((t) => !isTarget(t));
  if (unknown.length > 0) {
    process.stderr.write(`build: unknown target ${unknown.join(", ")}; use ${ALL_TARGETS.join(", ")}\n`);
    return 2;
  }
  const outDir = resolve(ROOT, values.out);
  say(`iscsi ${pkg.version}, bun ${Bun.version}, targets ${targets.join(", ")}`);
  try {
    const scripts = {
      libiscsi_attach: resolve(ROOT, values["shim-script"]),
      libiscsi_net: resolve(ROOT, values["net-script"]),
    };
    const built = await build({
      targets: targets as Target[],
      outDir,
      scripts,
      shimOut: resolve(ROOT, values["shim-out"]),
    });
    const host = await installHostBinary(built, outDir);
    if (values.json)
      process.stdout.write(JSON.stringify({ version: pkg.version, host: host ?? null, built }, null, 2) + "\n");
    else printSummary(built);
    return 0;
  } catch (err) {
    process.stderr.write(`build: ${(err as Error).message}\n`);
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main();
