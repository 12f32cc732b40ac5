// A daemon killed with a LUN attached and mounted (real tgtd, FUSE, loop device, ext4): doctor names what it
// left; the next daemon on the same state directory first removes the dead FUSE mount, loop device and mount,
// then restores the attachment from its record at the same mount point, serving the same fsync'd files; a second
// attachment of that LU is refused; a detach leaves nothing behind and removes the record. SIGTERM keeps the
// record; a simulated reboot restores only an automatic node's; a record that cannot come back is listed and
// can be detached.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isMountPoint } from "../../src/attach/loop.ts";
import { doctor } from "../doctor/_doctor.ts";
import { TestDaemon } from "../harness/iscsid.ts";
import { pollUntil } from "../harness/processes.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";
import { fuseMounts, loopDevices, ok, TMP } from "./_util.ts";

let t: TgtdTarget;
let d: TestDaemon;
let work: string;
const iqn = () => t.targets[0]!.iqn;
const CONFIG = ["iscsid.startup.retry_initial = 0.2", "iscsid.startup.retry_max = 1", ""].join("\n");

async function json<T = any>(args: string[]): Promise<T> {
  const r = await d.cli([...args, "--json"]);
  if (r.code !== 0) throw new Error(`iscsi ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const list = async () =>
  (
    await json<{
      attachments: Array<{ id: number; state: string; device?: string; mountPoint?: string; file: string }>;
    }>(["attach", "--list"])
  ).attachments;
const sums = async (mnt: string) => ok(`cd ${mnt} && sha256sum a b c`);

beforeAll(async () => {
  t = await startTgtd({ luns: [{ sizeMiB: 64 }] });
  d = new TestDaemon({ config: CONFIG });
  await d.start();
  work = mkdtempSync(join(TMP, "iscsi-restart-"));
  expect((await d.cli(["-m", "discovery", "-t", "sendtargets", "-p", t.portal])).code).toBe(0);
});

afterAll(async () => {
  await d?.stop();
  await t?.stop();
  rmSync(work, { recursive: true, force: true });
});

test("SIGKILL with ext4 mounted: the restarted daemon cleans up and serves the same files at the same mount point; detach leaves nothing", async () => {
  const mnt = join(work, "mnt");
  const plain = await json(["attach", iqn(), "1"]);
  await ok(`mkfs.ext4 -q -F -E nodiscard ${plain.device}`);
  await json(["detach", String(plain.id)]);
  const a = await json(["attach", iqn(), "1", "--mount", mnt]);
  for (const [name, size] of [
    ["a", "1M"],
    ["b", "64k"],
    ["c", "3M"],
  ]) {
    await ok(
      `head -c ${size} /dev/urandom > ${work}/${name} && dd if=${work}/${name} of=${mnt}/${name} bs=64k conv=fsync status=none`,
    );
  }
  const before = await sums(mnt);
  expect(before.split("\n").filter(Boolean)).toHaveLength(3);

  await d.kill9();
  // The killed daemon's FUSE mount, loop device and ext4 mount are still there, dead.
  expect(isMountPoint(mnt)).toBe(true);
  expect(loopDevices(d.stateDir)).toEqual([a.device]);
  expect(fuseMounts(d.stateDir)).toHaveLength(1);
  const found = (await doctor(["--state-dir", d.stateDir, "--socket", d.socket])).one("host.dead-attachments");
  expect(found.status).toBe("warn");
  expect(found.summary).toContain(
    `a killed daemon left mount ${mnt}, loop device ${a.device}, FUSE mount ${d.stateDir}/attach/`,
  );

  const restarted = Date.now();
  await d.start();
  const back = await pollUntil(
    async () => {
      const now = await list();
      return now.length === 1 && now[0]!.state === "attached" && now[0]!.mountPoint === mnt ? now[0]! : undefined;
    },
    30_000,
    () => `not restored within 30 s:\n${d.log()}`,
  );
  expect(Date.now() - restarted).toBeLessThan(30_000);
  expect(back.id).toBe(a.id);
  expect(d.log()).toContain(`removed what a killed daemon left: loop device ${a.device}`);
  expect(await sums(mnt)).toBe(before);
  // Exactly one of each: the old ones are gone, not stacked under the new.
  expect(await list()).toHaveLength(1);
  expect(loopDevices(d.stateDir)).toEqual([back.device!]);
  expect(fuseMounts(d.stateDir)).toEqual([back.file.slice(0, back.file.lastIndexOf("/"))]);

  const again = await d.cli(["attach", iqn(), "1"]);
  expect(again.code).toBe(15);
  expect(again.stderr).toContain(`LUN 1 of ${iqn()} is already attached as ${back.device} (attachment ${back.id})`);

  const gone = await json(["detach", mnt]);
  expect(gone.detached[0].id).toBe(back.id);
  expect(d.log()).toMatch(new RegExp(`LUN 1 of ${iqn().replace(/\./g, "\\.")} detached\\n`));
  expect(isMountPoint(mnt)).toBe(false);
  expect(loopDevices(d.stateDir)).toEqual([]);
  expect(fuseMounts(d.stateDir)).toEqual([]);
  expect(readdirSync(join(d.stateDir, "attachments")).filter((n) => n.endsWith(".json"))).toEqual([]);
  expect(existsSync(join(d.stateDir, "attach")) ? readdirSync(join(d.stateDir, "attach")) : []).toEqual([]);
}, 120_000);

test("SIGTERM keeps the record: the next start brings the attachment back; a detach then removes it for good", async () => {
  const a = await json(["attach", iqn(), "1"]);
  expect(await d.terminate()).toBe(0);
  expect(loopDevices(d.stateDir)).toEqual([]);
  await d.start();
  const back = await pollUntil(
    async () => (await list()).find((x) => x.state === "attached"),
    30_000,
    () => `not restored:\n${d.log()}`,
  );
  expect(back.id).toBe(a.id);
  await json(["detach", String(back.id)]);
  expect(await d.terminate()).toBe(0);
  await d.start();
  await Bun.sleep(1000);
  expect(await list()).toEqual([]);
  // Restored after the kill and after the SIGTERM, not after the detach.
  expect(d.log().match(/restoring 1 attachment\(s\)/g)).toHaveLength(2);
}, 120_000);

test("after a reboot (another boot id in the record) a manual node's attachment is dropped, an automatic node's comes back", async () => {
  const recordPath = (id: number) => join(d.stateDir, "attachments", `${id}.json`);
  const rebootRecord = (id: number) => {
    const r = JSON.parse(readFileSync(recordPath(id), "utf8"));
    expect(r.bootId).toBe(readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
    writeFileSync(recordPath(id), JSON.stringify({ ...r, bootId: "an-earlier-boot" }));
  };
  const manual = await json(["attach", iqn(), "1"]);
  expect(await d.terminate()).toBe(0);
  rebootRecord(manual.id);
  await d.start();
  await pollUntil(
    async () =>
      d.log().includes(`attachment ${manual.id} (LUN 1 of ${iqn()}`) &&
      d.log().includes("is not restored after a reboot: its node is manual")
        ? true
        : undefined,
    10_000,
    () => d.log(),
  );
  expect(existsSync(recordPath(manual.id))).toBe(false);
  expect(await list()).toEqual([]);

  expect((await d.cli(["set", "node.startup", "automatic", "-T", iqn(), "-p", t.portal])).code).toBe(0);
  const auto = await json(["attach", iqn(), "1"]);
  expect(await d.terminate()).toBe(0);
  rebootRecord(auto.id);
  await d.start();
  const back = await pollUntil(
    async () => (await list()).find((x) => x.state === "attached"),
    30_000,
    () => `not restored:\n${d.log()}`,
  );
  expect(back.id).toBe(auto.id);
  // Restored in this boot: the record now carries this boot's id.
  expect(JSON.parse(readFileSync(recordPath(auto.id), "utf8")).bootId).not.toBe("an-earlier-boot");
  await json(["detach", String(back.id)]);
}, 120_000);

test("a record that cannot come back is listed as failed (sid 0, the restore's error in status) and a detach removes it", async () => {
  expect((await d.cli(["set", "node.startup", "manual", "-T", iqn(), "-p", t.portal])).code).toBe(0);
  const a = await json(["attach", iqn(), "1"]);
  expect(await d.terminate()).toBe(0);
  const path = join(d.stateDir, "attachments", `${a.id}.json`);
  writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8")), lun: 7 }));
  await d.start();
  const failed = await pollUntil(
    async () => (await list()).find((x) => x.id === a.id && x.state === "failed"),
    30_000,
    () => d.log(),
  );
  expect(failed).toMatchObject({ sid: 0, file: "" });
  const pending = JSON.parse((await d.cli(["status", "--json"])).stdout).daemon.startup.find(
    (p: { key: string }) => p.key === `attachment:${a.id}`,
  );
  expect(pending).toMatchObject({ state: "gave-up", lastError: { code: "NOT_FOUND" } });
  expect(pending.lastError.message).toContain("has no LUN 7");
  // Its login was undone (a manual node's restore).
  expect(JSON.parse((await d.cli(["sessions", "--json"])).stdout).sessions).toEqual([]);
  const gone = await json(["detach", String(a.id)]);
  expect(gone.detached.map((x: { id: number }) => x.id)).toEqual([a.id]);
  expect(existsSync(path)).toBe(false);
  expect(await list()).toEqual([]);
}, 120_000);
