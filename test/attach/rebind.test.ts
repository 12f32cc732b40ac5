// An attached LUN across outages longer than the replacement timeout, through a real daemon on tgtd: I/O fails
// with EIO meanwhile and works again on the same /dev/loopN once the target is back. When the session itself is
// lost for good (the LU came back with another identity) and the daemon logs the automatic node in anew, the
// attachment moves to the new session only if it serves the same LU again; a different LU is never written.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { renameSync, rmSync } from "node:fs";
import { createSparseFile, MiB } from "../harness/daemon.ts";
import { libiscsiUrl, qemuImgRead } from "../harness/initiators.ts";
import { TestDaemon } from "../harness/iscsid.ts";
import { pollUntil } from "../harness/processes.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";
import { ok, sh } from "./_util.ts";

let t: TgtdTarget;
let d: TestDaemon;
const iqn = () => t.targets[0]!.iqn;
const lunFile = () => t.targets[0]!.luns[0]!.path!;
const url = () => libiscsiUrl({ portal: t.portal, iqn: iqn(), lun: 1 });

async function json<T = any>(args: string[]): Promise<T> {
  const r = await d.cli([...args, "--json"]);
  if (r.code !== 0) throw new Error(`iscsi ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const attachment = async (id: number) =>
  (
    await json<{ attachments: Array<{ id: number; sid: number; state: string }> }>(["attach", "--list"])
  ).attachments.find((a) => a.id === id)!;

/** Waits until the attachment satisfies `want` (the daemon re-logs in on its own, within seconds). */
async function waitFor(
  id: number,
  want: (a: { sid: number; state: string }) => boolean,
  ms: number,
): Promise<{ sid: number; state: string }> {
  return pollUntil(
    async () => {
      const a = await attachment(id);
      return want(a) ? a : undefined;
    },
    ms,
    () => `attachment ${id} not as wanted after ${ms} ms:\n${d.log()}`,
  );
}

/** 64 KiB of a known pattern, written through the loop device and fsync'd. */
async function writePattern(device: string, seekKiB: number, tag: string): Promise<string> {
  await ok(
    `yes ${tag} | head -c 65536 > ${d.dir}/${tag} && dd if=${d.dir}/${tag} of=${device} bs=64k seek=${seekKiB / 64} oflag=direct conv=fsync status=none`,
  );
  return (await ok(`sha256sum < ${d.dir}/${tag}`)).slice(0, 64);
}

const readSum = async (device: string, seekKiB: number) =>
  (await ok(`dd if=${device} bs=64k count=1 skip=${seekKiB / 64} iflag=direct status=none | sha256sum`)).slice(0, 64);
const qemuSum = async (seekKiB: number) =>
  new Bun.CryptoHasher("sha256").update(await qemuImgRead(url(), seekKiB * 1024, 65536)).digest("hex");

async function expectEio(device: string): Promise<void> {
  const w = await sh(`dd if=/dev/zero of=${device} bs=64k count=1 seek=200 oflag=direct status=none`, {
    timeoutMs: 30_000,
  });
  expect(w.code).not.toBe(0);
  expect(w.stderr).toMatch(/Input\/output error/);
}

beforeAll(async () => {
  t = await startTgtd({ luns: [{ sizeMiB: 32 }] });
  d = new TestDaemon();
  await d.start();
  expect((await d.cli(["-m", "discovery", "-t", "sendtargets", "-p", t.portal])).code).toBe(0);
  for (const [name, value] of [
    ["node.startup", "automatic"],
    ["node.session.timeo.replacement_timeout", "2"],
  ]) {
    expect((await d.cli(["set", name!, value!, "-T", iqn(), "-p", t.portal])).code).toBe(0);
  }
});

afterAll(async () => {
  await d?.stop();
  await t?.stop();
});

test("target down past the replacement timeout: EIO meanwhile, then the same /dev/loopN reads and writes again", async () => {
  const a = await json(["attach", iqn(), "1"]);
  const before = await writePattern(a.device, 0, "before");
  await t.kill9();
  await Bun.sleep(3000);
  await expectEio(a.device);
  expect((await attachment(a.id)).state).toBe("recovering");
  await t.restart();
  await waitFor(a.id, (x) => x.state === "attached", 40_000);
  expect(await readSum(a.device, 0)).toBe(before);
  const after = await writePattern(a.device, 64, "after");
  expect(await qemuSum(0)).toBe(before);
  expect(await qemuSum(64)).toBe(after);
  await json(["detach", String(a.id)]);
}, 90_000);

test("session lost for good: not moved to a new login of another LU; moved, with its data, once the same LU is back", async () => {
  const a = await json(["attach", iqn(), "1"]);
  const before = await writePattern(a.device, 0, "kept");
  // Another LU at LUN 1 (other size, so another identity): the reinstatement's identity check fails the session.
  await t.kill9();
  renameSync(lunFile(), `${lunFile()}.orig`);
  createSparseFile(lunFile(), 48 * MiB);
  await t.restart();
  const other = await waitFor(a.id, (x) => x.state === "failed", 40_000);
  // The daemon logs the automatic node in anew (a new sid); the attachment stays on its failed session.
  await pollUntil(
    () => (d.log().includes(`attachment ${a.id} not moved to session`) ? true : undefined),
    30_000,
    () => `no refusal logged:\n${d.log()}`,
  );
  expect(d.log()).toMatch(
    /is not the logical unit attached as \/dev\/loop\d+ \(was serial=.* blocks=65536x512, now .* blocks=98304x512\); left failed/,
  );
  expect((await attachment(a.id)).sid).toBe(other.sid);
  await expectEio(a.device);
  expect(await qemuSum(0)).not.toBe(before); // the other LU was not written

  // The original LU comes back: the other-LU session fails its own identity check, the next login takes the attachment.
  await t.kill9();
  rmSync(lunFile());
  renameSync(`${lunFile()}.orig`, lunFile());
  await t.restart();
  const moved = await waitFor(a.id, (x) => x.state === "attached", 60_000);
  expect(moved.sid).toBeGreaterThan(other.sid);
  const sessions = (await json(["sessions"])).sessions;
  expect(sessions.map((s: { sid: number }) => s.sid)).toEqual([moved.sid]);
  expect(await readSum(a.device, 0)).toBe(before);
  const after = await writePattern(a.device, 64, "moved");
  expect(await qemuSum(64)).toBe(after);
  const logout = await d.cli(["logout", iqn()]);
  expect(logout.code).toBe(28);
  expect(logout.stderr).toContain(`session ${moved.sid} has LUN 1 as ${a.device} (attachment ${a.id}) attached`);
  await json(["detach", String(a.id)]);
  expect((await json(["attach", "--list"])).attachments).toEqual([]);
}, 180_000);
