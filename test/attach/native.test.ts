// Finding the attach library: the repository's build is found and speaks ring ABI 1; $ISCSI_ATTACH_LIB wins and
// a wrong one is named; with nothing anywhere the error (ATTACH_UNAVAILABLE, exit 27) lists every place looked at.
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ATTACH_LIB, attachLibrary } from "../../src/attach/native.ts";
import { ERROR_CATALOGUE } from "../../src/contract/errors.ts";
import { ffiLibFileName, platformKey } from "../../src/transport/ffi-lib.ts";

const ROOT = join(import.meta.dir, "../..");
const LIB_NAME = ffiLibFileName(ATTACH_LIB);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs `code` in a fresh Bun with `env`, importing native.ts from `src` (a copy elsewhere, or the real one). */
async function inFreshProcess(code: string, env: Record<string, string | undefined>, src = join(ROOT, "src")) {
  const script = `import { attachLibrary } from ${JSON.stringify(join(src, "attach/native.ts"))};\n${code}`;
  const p = Bun.spawn([process.execPath, "-e", script], {
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, codeOut] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { stdout, stderr, code: codeOut };
}

test("the repository's build is found, loads, and speaks ring ABI 1", async () => {
  const lib = await attachLibrary();
  expect(lib.path).toBe(join(ROOT, "ffi/build", platformKey(), LIB_NAME));
  expect(lib.symbols.iscsi_ring_abi_version()).toBe(1);
});

test("$ISCSI_ATTACH_LIB is used as given; a path that does not exist is named", async () => {
  const r = await inFreshProcess(
    `attachLibrary().then((l) => console.log("loaded", l.path), (e) => console.log(e.code, e.message));`,
    { ISCSI_ATTACH_LIB: "/nonexistent/libiscsi_attach.so" },
  );
  expect(r.stdout.trim()).toBe(
    "ATTACH_UNAVAILABLE $ISCSI_ATTACH_LIB names /nonexistent/libiscsi_attach.so, which does not exist: unset ISCSI_ATTACH_LIB or point it at libiscsi_attach.so",
  );
  const copy = join(mkdtempSync(join(tmpdir(), "iscsi-native-test-")), LIB_NAME);
  dirs.push(join(copy, ".."));
  copyFileSync(join(ROOT, "ffi/build", platformKey(), LIB_NAME), copy);
  const ok = await inFreshProcess(`attachLibrary().then((l) => console.log("loaded", l.path));`, {
    ISCSI_ATTACH_LIB: copy,
  });
  expect(ok.stdout.trim()).toBe(`loaded ${copy}`);
});

test("with no library anywhere, the error lists every path tried and how to build one", async () => {
  // native.ts (and what it imports) copied into a tree without ffi/build: nothing to find.
  const tree = mkdtempSync(join(tmpdir(), "iscsi-native-test-"));
  dirs.push(tree);
  for (const f of ["attach/native.ts", "contract/errors.ts", "transport/ffi-lib.ts"]) {
    mkdirSync(join(tree, "src", f, ".."), { recursive: true });
    copyFileSync(join(ROOT, "src", f), join(tree, "src", f));
  }
  const r = await inFreshProcess(
    `attachLibrary().then(() => console.log("loaded"), (e) => console.log(e.code + "\\n" + e.message));`,
    { ISCSI_ATTACH_LIB: undefined },
    join(tree, "src"),
  );
  const [code, message] = r.stdout.trim().split("\n");
  expect(code).toBe("ATTACH_UNAVAILABLE");
  expect(ERROR_CATALOGUE.ATTACH_UNAVAILABLE.exit).toBe(27);
  expect(message).toContain(
    `the attach library ${LIB_NAME} was not found; looked at: (no copy embedded in this executable), `,
  );
  expect(message).toContain(join(process.execPath, "../../libexec/iscsi", LIB_NAME));
  expect(message).toContain(join(tree, "ffi/build", platformKey(), LIB_NAME));
  expect(message).toContain(`: build it with \`bash ffi/build.sh ${platformKey()}\`, or set ISCSI_ATTACH_LIB`);
});
