// `bun run build` and the release around it: three executables for the right OS and CPU (ELF and Mach-O headers
// read here), dist/iscsi the host's, the attach library and (Linux) the native transport's shim embedded when
// their FFI build scripts build them,
// Formula/iscsi.rb valid Ruby, and scripts/release.sh's tarballs, checksums, formula and dirty-tree refusal.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, symlinkSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { buildOnce, DIST, ROOT, runBinary, runBuild, TARGETS, type BuildSummary } from "./_build.ts";

const MH_MAGIC_64 = 0xfeedfacf;
const CPU_TYPE_ARM64 = 0x0100000c;
const CPU_TYPE_X86_64 = 0x01000007;
const MH_EXECUTE = 2;
const EM_X86_64 = 0x3e;

function header(path: string, length = 64): DataView {
  const bytes = new Uint8Array(length);
  const fd = openSync(path, "r");
  try {
    readSync(fd, bytes, 0, length, 0);
  } finally {
    closeSync(fd);
  }
  return new DataView(bytes.buffer);
}

function sha256(path: string): string {
  return new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
}

async function run(argv: string[], cwd: string): Promise<{ stdout: string; stderr: string; code: number }> {
  const p = Bun.spawn(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { stdout, stderr, code };
}

let summary: BuildSummary;
beforeAll(async () => {
  summary = await buildOnce();
}, 300_000);

describe("bun run build", () => {
  test("builds the three targets into dist/ and reports each with its size and architecture", () => {
    expect(summary.version).toBe(pkg.version);
    expect(summary.built.map((b) => [b.target, b.file, b.arch])).toEqual([
      ["linux-x64", join(DIST, "iscsi-linux-x64"), "ELF x86-64"],
      ["darwin-arm64", join(DIST, "iscsi-darwin-arm64"), "Mach-O arm64"],
      ["darwin-x64", join(DIST, "iscsi-darwin-x64"), "Mach-O x86_64"],
    ]);
    for (const b of summary.built) expect(statSync(b.file).size).toBe(b.bytes);
    expect(summary.stderr).toContain("build: linux-x64: bun build --compile");
  });

  test("the linux executable is ELF x86-64; the darwin ones are 64-bit Mach-O executables for arm64 and x86_64", () => {
    const linux = header(join(DIST, "iscsi-linux-x64"));
    expect([linux.getUint32(0, false), linux.getUint8(4), linux.getUint16(18, true)]).toEqual([0x7f454c46, 2, EM_X86_64]);
    for (const [target, cpu] of [["darwin-arm64", CPU_TYPE_ARM64], ["darwin-x64", CPU_TYPE_X86_64]] as const) {
      const h = header(join(DIST, `iscsi-${target}`));
      expect([target, h.getUint32(0, true), h.getUint32(4, true), h.getUint32(12, true)]).toEqual([target, MH_MAGIC_64, cpu, MH_EXECUTE]);
    }
  });

  test("dist/iscsi is the host's executable (package.json's bin)", () => {
    expect(summary.host).toBe(join(DIST, "iscsi"));
    expect(pkg.bin.iscsi).toBe("dist/iscsi");
    expect(sha256(join(DIST, "iscsi"))).toBe(sha256(join(DIST, `iscsi-${process.platform}-${process.arch}`)));
  });

  test("the attach library is embedded exactly when ffi/build.sh exists and builds it", () => {
    const linux = summary.built.find((b) => b.target === "linux-x64")!;
    expect(linux.libraries.libiscsi_attach).toEqual(existsSync(join(ROOT, "ffi/build.sh")) ? { embedded: "libiscsi_attach.so" } : { none: "no ffi/build.sh" });
  });

  test("the native transport's shim is embedded in the linux executable only", () => {
    expect(summary.built.map((b) => [b.target, b.libraries.libiscsi_net])).toEqual([
      ["linux-x64", { embedded: "libiscsi_net.so" }],
      ["darwin-arm64", { none: "the native transport is Linux-only" }],
      ["darwin-x64", { none: "the native transport is Linux-only" }],
    ]);
  });
});

describe("embedding the C libraries", () => {
  let dir: string;
  let fixture: BuildSummary;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "iscsi-build-"));
    fixture = await runBuild(["--targets", "linux-x64,darwin-arm64,darwin-x64", "--out", dir, "--shim-script", "test/dist/fixtures/attach-shim.sh", "--net-script", "test/dist/fixtures/net-shim.sh", "--shim-out", join(dir, "ffi")]);
  }, 300_000);
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

  test("a library that builds is embedded; one that fails, or is for the wrong system, is not, and the executable is still made", () => {
    expect(fixture.built.map((b) => [b.target, b.libraries.libiscsi_attach])).toEqual([
      ["linux-x64", { embedded: "libiscsi_attach.so" }],
      ["darwin-arm64", { none: "ffi build failed (exit 3): attach-shim.sh: darwin-arm64 is not built on this host" }],
      ["darwin-x64", { none: "ffi build made ELF x86-64, not Mach-O x86_64" }],
    ]);
    expect(fixture.built.map((b) => [b.target, b.libraries.libiscsi_net])).toEqual([
      ["linux-x64", { none: "ffi build failed (exit 1): net-shim.sh: no compiler here" }],
      ["darwin-arm64", { none: "the native transport is Linux-only" }],
      ["darwin-x64", { none: "the native transport is Linux-only" }],
    ]);
    expect(header(join(dir, "iscsi-darwin-arm64")).getUint32(4, true)).toBe(CPU_TYPE_ARM64);
    expect(header(join(dir, "iscsi-darwin-x64")).getUint32(4, true)).toBe(CPU_TYPE_X86_64);
  });

  test("the executable lists the library in Bun.embeddedFiles under its plain name, byte for byte the size built; no shim: Bun's transport", async () => {
    const r = await runBinary(join(dir, "iscsi-linux-x64"), ["doctor", "--json", "--state-dir", join(dir, "state")]);
    expect(r.code).toBe(0);
    const lib = JSON.parse(r.stdout).findings.find((f: { check: string }) => f.check === "host.attach-library");
    expect(lib.status).toBe("ok");
    expect(lib.data.embedded).toEqual([{ name: "libiscsi_attach.so", bytes: statSync(join(dir, "ffi/linux-x64/libiscsi_attach.so")).size }]);
    const transport = JSON.parse(r.stdout).findings.find((f: { check: string }) => f.check === "host.transport");
    expect(transport).toMatchObject({ status: "warn", data: { transport: "bun" } });
    expect(transport.summary).toContain("the native transport library libiscsi_net.so was not found; looked at: (no copy embedded in this executable), ");
    expect(transport.fix).toContain("use a build made where `sh ffi/net/build.sh` works");
  });

  test("an executable built without it says attaching is unavailable", async () => {
    const r = await runBinary(join(DIST, "iscsi-linux-x64"), ["doctor", "--json", "--state-dir", join(dir, "state")]);
    const lib = JSON.parse(r.stdout).findings.find((f: { check: string }) => f.check === "host.attach-library");
    const embedded = summary.built[0]!.libraries.libiscsi_attach;
    expect(lib.status).toBe("embedded" in embedded ? "ok" : "warn");
  });
});

describe("Homebrew formula and release", () => {
  test("Formula/iscsi.rb is valid Ruby", async () => {
    const r = await run(["ruby", "-c", join(ROOT, "Formula/iscsi.rb")], ROOT);
    expect(r).toEqual({ stdout: "Syntax OK\n", stderr: "", code: 0 });
  });

  let repo: string;
  beforeAll(async () => {
    // A throwaway repository holding what release.sh reads, with dist/ linked to the binaries built above.
    repo = mkdtempSync(join(tmpdir(), "iscsi-release-"));
    for (const f of ["scripts/release.sh", "Formula/iscsi.rb", "package.json", "LICENSE", "README.md", "CHANGELOG.md", ".gitignore"]) {
      mkdirSync(join(repo, f, ".."), { recursive: true });
      copyFileSync(join(ROOT, f), join(repo, f));
    }
    mkdirSync(join(repo, "dist"));
    for (const t of TARGETS) symlinkSync(join(DIST, `iscsi-${t}`), join(repo, "dist", `iscsi-${t}`));
    for (const argv of [["git", "init", "-q"], ["git", "add", "-A"], ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "release test"]]) {
      expect((await run(argv, repo)).code).toBe(0);
    }
  });
  afterAll(() => repo && rmSync(repo, { recursive: true, force: true }));

  test("release.sh refuses a tree with uncommitted files, and a missing --repo", async () => {
    writeFileSync(join(repo, "stray.txt"), "not committed\n");
    const dirty = await run(["bash", "scripts/release.sh", "--repo", "example/iscsi", "--no-build"], repo);
    expect(dirty.code).toBe(1);
    expect(dirty.stderr).toContain("?? stray.txt");
    expect(dirty.stderr).toContain("uncommitted or untracked files");
    rmSync(join(repo, "stray.txt"));
    const noRepo = await run(["bash", "scripts/release.sh", "--no-build"], repo);
    expect(noRepo.code).toBe(1);
    expect(noRepo.stderr).toContain("--repo OWNER/NAME");
    expect(existsSync(join(repo, "dist/release"))).toBe(false);
  });

  test("release.sh makes a tarball per target with checksums and a formula with them filled in", async () => {
    const r = await run(["bash", "scripts/release.sh", "--repo", "example/iscsi", "--no-build"], repo);
    expect(r.code).toBe(0);
    const out = join(repo, "dist/release");
    const sums = readFileSync(join(out, "SHA256SUMS"), "utf8").trim().split("\n").map((l) => l.split("  "));
    expect(sums.map(([, name]) => name).sort()).toEqual(TARGETS.map((t) => `iscsi-${pkg.version}-${t}.tar.gz`).sort());
    for (const [sum, name] of sums) expect([name, sha256(join(out, name!))]).toEqual([name, sum]);
    const formula = readFileSync(join(out, "iscsi.rb"), "utf8");
    expect(formula).not.toMatch(/@[A-Z0-9_]+@/);
    expect(formula).toContain(`version "${pkg.version}"`);
    for (const [sum, name] of sums) expect(formula).toContain(`url "https://github.com/example/iscsi/releases/download/v${pkg.version}/${name}"\n      sha256 "${sum}"`);
    expect((await run(["ruby", "-c", join(out, "iscsi.rb")], repo)).code).toBe(0);
    // The linux tarball unpacks to one folder with the executable (byte-identical) and the documents.
    const unpacked = join(repo, "unpacked");
    mkdirSync(unpacked);
    expect((await run(["tar", "-xzf", join(out, `iscsi-${pkg.version}-linux-x64.tar.gz`), "-C", unpacked], repo)).code).toBe(0);
    const top = join(unpacked, `iscsi-${pkg.version}-linux-x64`);
    expect(["iscsi", "LICENSE", "README.md", "CHANGELOG.md"].map((f) => existsSync(join(top, f)))).toEqual([true, true, true, true]);
    expect(sha256(join(top, "iscsi"))).toBe(sha256(join(DIST, "iscsi-linux-x64")));
    expect((statSync(join(top, "iscsi")).mode & 0o777).toString(8)).toBe("755");
  }, 120_000);
});
