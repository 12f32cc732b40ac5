// One initiator name for standalone commands and the daemon: a standalone command on a fresh state dir stores
// the name the daemon then uses, and a tgtd ACL that admits only that name admits both.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TestDaemon } from "../harness/iscsid.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";

let t: TgtdTarget;
let d: TestDaemon;
beforeAll(async () => {
  t = await startTgtd({ luns: [{ sizeMiB: 4 }] });
  d = new TestDaemon();
});
afterAll(async () => {
  await d?.stop();
  await t?.stop();
});

describe("initiator name", () => {
  test("a standalone command stores the name, the daemon uses it, and an ACL for it admits both", async () => {
    const url = `iscsi://${t.portal}/${t.targets[0]!.iqn}`;
    // Standalone first, on the daemon's (still empty) state dir: the name is generated and stored there.
    const standalone = await d.cli(["luns", url, "--json"], { env: { ISCSI_INITIATOR_NAME: "" } });
    expect({ code: standalone.code, stderr: standalone.stderr }).toEqual({ code: 0, stderr: "" });
    const stored = /^InitiatorName=(\S+)$/m.exec(readFileSync(join(d.stateDir, "initiatorname.iscsi"), "utf8"))![1]!;
    expect(stored).toMatch(/^iqn\.2026-11\.dev\.iscsi:/);

    await d.start();
    const status = JSON.parse((await d.cli(["status", "--json"])).stdout);
    expect(status.daemon.initiatorName).toBe(stored);

    // Only that name may log in now: standalone and daemon both still can, another name cannot.
    await t.tgtadm(["--mode", "target", "--op", "unbind", "--tid", "1", "--initiator-address", "ALL"]);
    await t.tgtadm(["--mode", "target", "--op", "bind", "--tid", "1", "--initiator-name", stored]);
    expect((await d.cli(["luns", url, "--json"], { env: { ISCSI_INITIATOR_NAME: "" } })).code).toBe(0);
    expect(
      (await d.cli(["luns", url, "--json"], { env: { ISCSI_INITIATOR_NAME: "iqn.2026-11.dev.iscsi:someone-else" } }))
        .code,
    ).not.toBe(0);
    const found = await d.cli(["discover", t.portal, "--json"]);
    expect(found.code).toBe(0);
    expect(JSON.parse(found.stdout).targets.map((x: { name: string }) => x.name)).toEqual([t.targets[0]!.iqn]);
  });
});
