// The build the distribution tests share: `bun run build` (scripts/build.ts) run once per test process, its
// --json summary parsed, and a CLI runner for the compiled executable that works from a neutral directory.
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "../..");
export const DIST = join(ROOT, "dist");
export const TARGETS = ["linux-x64", "darwin-arm64", "darwin-x64"] as const;

export interface BuiltBinary {
  target: string;
  file: string;
  bytes: number;
  arch: string;
  /** Each C library embedded (its file name), or why it is not. */
  libraries: Record<"libiscsi_attach" | "libiscsi_net", { embedded: string } | { none: string }>;
}

export interface BuildSummary {
  version: string;
  host: string | null;
  built: BuiltBinary[];
  stderr: string;
}

/** Runs scripts/build.ts with `args` and returns its JSON summary; throws with its stderr on failure. */
export async function runBuild(args: string[] = []): Promise<BuildSummary> {
  const p = Bun.spawn([process.execPath, join(ROOT, "scripts/build.ts"), "--json", ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`scripts/build.ts ${args.join(" ")} exited ${code}:\n${stderr}`);
  return { ...JSON.parse(stdout), stderr };
}

let once: Promise<BuildSummary> | undefined;

/** The full three-target build into dist/, made once however many test files ask for it. */
export function buildOnce(): Promise<BuildSummary> {
  once ??= runBuild();
  return once;
}

export interface Run {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a compiled executable from the temp dir (not the repo) with a socket no daemon listens on, unless `env` says otherwise. */
export async function runBinary(binary: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const p = Bun.spawn([binary, ...args], {
    cwd: tmpdir(),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ISCSI_SOCKET: "/nonexistent/iscsi-dist-test.sock", ...env },
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { stdout, stderr, code };
}
