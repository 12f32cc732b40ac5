// Multiple connections per session (MC/S, RFC 7143 §6.1) against istgt (MaxConnections 4 in its config) and
// tgtd (MaxConnections raised with tgtadm): 2 and 4 connections log in with the session's ISID and TSIH,
// commands spread over all of them, and 64 MiB of random data round-trips identical, also through qemu-img.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startIstgt, type IstgtTarget } from "../harness/istgt.ts";
import { libiscsiUrl, qemuImgRead } from "../harness/initiators.ts";
import { TestDaemon } from "../harness/iscsid.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";
import { firstDifference, mixedRoundTrip, openLu, randomData } from "./_util.ts";

const MiB = 1024 * 1024;
let istgt: IstgtTarget;
let tgtd: TgtdTarget;

beforeAll(async () => {
  [istgt, tgtd] = await Promise.all([
    startIstgt({ luns: [{ sizeMiB: 80 }] }),
    startTgtd({ luns: [{ sizeMiB: 80 }], params: { MaxConnections: 4 } }),
  ]);
});

afterAll(async () => {
  await istgt?.stop();
  await tgtd?.stop();
});

describe.each([
  ["istgt", () => ({ t: istgt as IstgtTarget | TgtdTarget, lun: istgt.targets[0]!.luns[0]!.lun })],
  ["tgtd", () => ({ t: tgtd as IstgtTarget | TgtdTarget, lun: 1 })],
])("%s", (_name, target) => {
  for (const n of [2, 4]) {
    test(`${n} connections in one session: one TSIH, commands on every connection, 64 MiB round trip identical, also through qemu-img`, async () => {
      const { t, lun } = target();
      const iqn = t.targets[0]!.iqn;
      const lu = await openLu(t.port, iqn, lun, { queueDepth: 32, proposal: { maxConnections: n } });
      const s = lu.session;
      expect(s.negotiated.maxConnections).toBe(n);
      expect(s.connections.views().map((c) => c.cid)).toEqual([...Array(n).keys()]);
      const data = randomData(64 * MiB);
      const before = s.connections.views();
      const views: Array<typeof before> = [];
      const spy = setInterval(() => views.push(s.connections.views()), 50);
      try {
        expect(await mixedRoundTrip(lu, data)).toEqual([-1, -1, -1]);
      } finally {
        clearInterval(spy);
      }
      // The most each connection had sent (the last samples may come after the logout closed the others).
      const most = new Map<number, number>();
      for (const v of views)
        for (const c of v)
          most.set(
            c.cid,
            Math.max(most.get(c.cid) ?? 0, c.commands - (before.find((b) => b.cid === c.cid)?.commands ?? 0)),
          );
      expect([...most.keys()].sort()).toEqual([...Array(n).keys()]);
      expect([...most.values()].every((x) => x > 0)).toBe(true);
      expect(firstDifference(await qemuImgRead(libiscsiUrl({ portal: t.portal, iqn, lun }), 0, 64 * MiB), data)).toBe(
        -1,
      );
    }, 180_000);
  }
});

test("the daemon: node.session.iscsi.MaxConnections = 2 gives one session to istgt with 2 connections (-m session -P 3 --json)", async () => {
  const d = new TestDaemon();
  await d.start();
  try {
    const iqn = istgt.targets[0]!.iqn;
    expect((await d.cli(["-m", "node", "-o", "new", "-T", iqn, "-p", istgt.portal])).code).toBe(0);
    expect(
      (
        await d.cli([
          "-m",
          "node",
          "-T",
          iqn,
          "-p",
          istgt.portal,
          "-o",
          "update",
          "-n",
          "node.session.iscsi.MaxConnections",
          "-v",
          "2",
        ])
      ).code,
    ).toBe(0);
    expect((await d.cli(["-m", "node", "-T", iqn, "--login"])).code).toBe(0);
    const r = await d.cli(["-m", "session", "-P", "3", "--json"]);
    expect(r.code).toBe(0);
    const { sessions } = JSON.parse(r.stdout);
    expect(sessions).toHaveLength(1);
    expect(sessions[0].negotiated.maxConnections).toBe(2);
    expect(sessions[0].connections.map((c: { cid: number }) => c.cid)).toEqual([0, 1]);
    expect((await d.cli(["-m", "session", "-P", "3"])).stdout).toMatch(/CID 1: 127\.0\.0\.1:\d+, \d+ commands/);
    expect((await d.cli(["-m", "node", "-T", iqn, "--logout"])).code).toBe(0);
  } finally {
    await d.stop();
  }
}, 60_000);
