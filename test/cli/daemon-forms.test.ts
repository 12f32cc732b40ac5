// The iscsiadm forms through a real daemon and tgtd: a login the target refuses for good fails after one
// attempt and is printed once; -m discovery -P 1 prints iscsiadm's tree; -m node -R rescans the node's
// session; -m session -P 3 names the local disk of an attached LUN ("Attached scsi disk loopN … State:
// running") and says "not attached" only of the others; `iscsi attach IQN LUN -m DIR` mounts (-m is --mount).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { TestDaemon } from "../harness/iscsid.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";
import { loopDevices, ok, TMP } from "../attach/_util.ts";

let t: TgtdTarget;
let d: TestDaemon;
let work: string;
const iqn = () => t.targets[0]!.iqn;

beforeAll(async () => {
  t = await startTgtd({ luns: [{ sizeMiB: 32 }, { sizeMiB: 16 }] });
  d = new TestDaemon();
  await d.start();
  work = mkdtempSync(join(TMP, "iscsi-daemon-forms-"));
});
afterAll(async () => {
  await d?.stop();
  await t?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("through the daemon", () => {
  test("a target that is not there fails after one attempt, printed once (exit 19)", async () => {
    const bogus = "iqn.2026-11.dev.iscsi.test:not-there";
    expect((await d.cli(["-m", "node", "-o", "new", "-T", bogus, "-p", t.portal])).code).toBe(0);
    const r = await d.cli(["-m", "node", "-T", bogus, "-p", t.portal, "--login"]);
    expect(r.code).toBe(19);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/after 1 attempt\(s\): .*target not found/);
    expect((await d.cli(["-m", "node", "-T", bogus, "-p", t.portal, "-o", "delete"])).code).toBe(0);
  });

  test("-m discovery -P 1 prints the tree: Target, Portal with its group tag, Iface Name", async () => {
    const r = await d.cli(["-m", "discovery", "-t", "st", "-p", t.portal, "-P", "1"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Target: ${iqn()}\n\tPortal: ${t.portal},1\n\t\tIface Name: default\n`);
  });

  test("-m session -P 3 shows the attached LUN's device and mount, the other one not attached; -m node -R rescans", async () => {
    const mount = join(work, "mnt");
    expect((await d.cli(["-m", "node", "-T", iqn(), "-p", t.portal, "--login"])).code).toBe(0);
    const s0 = JSON.parse((await d.cli(["sessions", "--json"])).stdout).sessions[0];
    // A filesystem on LUN 1 first, through a plain attach; then `attach IQN 1 -m DIR` mounts it.
    const plain = JSON.parse((await d.cli(["attach", iqn(), "1", "--json"])).stdout);
    await ok(`mkfs.ext4 -q -F ${plain.device}`);
    expect((await d.cli(["detach", String(plain.id)])).code).toBe(0);
    const attached = await d.cli(["attach", iqn(), "1", "-m", mount, "--json"]);
    expect({ code: attached.code, stderr: attached.stderr }).toEqual({ code: 0, stderr: "" });
    const a = JSON.parse(attached.stdout);
    expect(a.mountPoint).toBe(mount);
    try {
      const tree = await d.cli(["-m", "session", "-P", "3"]);
      expect(tree.code).toBe(0);
      const dev = a.device.replace("/dev/", "");
      expect(tree.stdout).toContain(`\t\tLun: 1 direct access block device`);
      expect(tree.stdout).toContain(`\t\t\tAttached scsi disk ${dev}\t\tState: running (mounted on ${mount})\n`);
      expect(tree.stdout.match(/Attached scsi disk/g)).toHaveLength(1);
      expect(tree.stdout.match(/\t\t\tnot attached\n/g)).toHaveLength(2); // LUN 0 (controller) and LUN 2
      const rescan = await d.cli(["-m", "node", "-T", iqn(), "-R"]);
      expect(rescan.code).toBe(0);
      expect(rescan.stdout).toBe(
        `Rescanning session [sid: ${s0.sid}, target: ${iqn()}, portal: ${t.host},${t.port}]\n`,
      );
    } finally {
      expect((await d.cli(["detach", String(a.id)])).code).toBe(0);
    }
    expect(await loopDevices()).not.toContain(a.device);
  });

  test("-m node -R on a node without a session is exit 21", async () => {
    expect((await d.cli(["-m", "node", "-U", "all"])).code).toBe(0);
    const r = await d.cli(["-m", "node", "-T", iqn(), "-R"]);
    expect(r.code).toBe(21);
    expect(r.stderr).toBe("iscsi: No session found.\n");
  });
});
