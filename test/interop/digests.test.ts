// Digest offers as a user meets them: with default settings `iscsi write`/`read` work against an istgt that
// requires header and data digests (we offer None,CRC32C, like libiscsi); --header-digest None is refused
// there with a message that says what to offer; a bad --data-digest value is a usage error.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startIstgt, type IstgtTarget } from "../harness/istgt.ts";
import { firstDifference, randomData } from "./_util.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");

async function cli(args: string[]) {
  const p = Bun.spawn([process.execPath, MAIN, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ISCSI_SOCKET: "/nonexistent/iscsi-test.sock" },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { stdout, stderr, code };
}

let t: IstgtTarget;
let dir: string;
beforeAll(async () => {
  t = await startIstgt({ luns: [{ sizeMiB: 16 }], digests: "Header Data" });
  dir = mkdtempSync(join(tmpdir(), "iscsi-digests-"));
});
afterAll(async () => {
  await t?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("digests against istgt with UseDigest Header Data", () => {
  test("default settings write and read back 4 MiB", async () => {
    const url = `iscsi://${t.portal}/${t.targets[0]!.iqn}/0`;
    const data = randomData(4 << 20);
    writeFileSync(join(dir, "in.bin"), data);
    const w = await cli(["write", url, "-i", join(dir, "in.bin"), "--offset", "1M"]);
    expect({ code: w.code, stderr: w.stderr }).toMatchObject({ code: 0 });
    const r = await cli(["read", url, "-o", join(dir, "out.bin"), "--offset", "1M", "--length", "4M"]);
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    expect(firstDifference(new Uint8Array(readFileSync(join(dir, "out.bin"))), data)).toBe(-1);
  });

  test("--header-digest None is refused by the target, and the message says to offer CRC32C", async () => {
    const r = await cli([
      "read",
      `iscsi://${t.portal}/${t.targets[0]!.iqn}/0`,
      "-o",
      join(dir, "none.bin"),
      "--length",
      "4k",
      "--header-digest",
      "None",
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/HeaderDigest.*CRC32C/);
  });

  test("an unknown digest value is a usage error naming the flag", async () => {
    const r = await cli(["read", `iscsi://${t.portal}/${t.targets[0]!.iqn}/0`, "-o", "-", "--data-digest", "crc32"]);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/invalid --data-digest "crc32"/);
  });
});
