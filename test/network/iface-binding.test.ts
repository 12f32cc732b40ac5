// Interface binding: node settings iface.net_ifacename (SO_BINDTODEVICE) and iface.ipaddress (bind) make the
// session's TCP connection leave through that interface / from that address, even against the routing table's
// preference; `-m session -P 3` shows it, and tgtd (in its namespace) sees the connection come from there.
// An interface that does not exist is a clear login error.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { TestDaemon } from "../harness/iscsid.ts";
import { NetLab, type Veth } from "../harness/netlab.ts";
import { runTool } from "../harness/processes.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";

let lab: NetLab;
let links: Veth[];
let ns: string;
let target: TgtdTarget;
let daemon: TestDaemon;
let portal: string;

beforeAll(async () => {
  lab = await NetLab.create();
  ns = await lab.namespace();
  links = [await lab.veth(undefined, ns, { metric: 100 }), await lab.veth(undefined, ns, { metric: 200 })];
  const host = await lab.hostAddress(ns, links);
  target = await startTgtd({ luns: [{ sizeMiB: 8 }], netns: { name: ns, host } });
  portal = target.portal;
  daemon = new TestDaemon();
  await daemon.start();
  expect((await daemon.cli(["-m", "discovery", "-t", "sendtargets", "-p", portal])).code).toBe(0);
});
afterAll(async () => {
  await daemon?.stop();
  await target?.stop();
  await lab?.destroy();
});

const iqn = () => target.targets[0]!.iqn;
async function set(name: string, value: string): Promise<void> {
  const r = await daemon.cli(["-m", "node", "-T", iqn(), "-p", portal, "-o", "update", "-n", name, "-v", value]);
  expect(r.stderr).toBe("");
}
/** Peers of tgtd's established connections, as seen inside its namespace. */
async function peersSeenByTarget(): Promise<string[]> {
  const r = await runTool(lab.exec(ns, ["ss", "-Htn", "state", "established", `( sport = :${target.port} )`]));
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => l.trim().split(/\s+/).at(-1)!.replace(/:\d+$/, ""));
}

for (const [what, setting, pick] of [
  ["iface.net_ifacename", "iface.net_ifacename", (l: Veth) => l.a.name],
  ["iface.ipaddress", "iface.ipaddress", (l: Veth) => l.a.address],
] as const) {
  test(`${what}: the connection leaves through the less preferred link, shown in -m session -P 3 and seen by tgtd`, async () => {
    await set("iface.net_ifacename", "");
    await set("iface.ipaddress", "");
    await set(setting, pick(links[1]!));
    const login = await daemon.cli(["-m", "node", "-T", iqn(), "-p", portal, "--login"]);
    expect(login.code).toBe(0);
    try {
      const p3 = await daemon.cli(["-m", "session", "-P", "3"]);
      expect(p3.stdout).toContain(`Iface IPaddress: ${links[1]!.a.address}`);
      if (setting === "iface.net_ifacename") expect(p3.stdout).toContain(`Iface Netdev: ${links[1]!.a.name}`);
      expect(await peersSeenByTarget()).toEqual([links[1]!.a.address]);
    } finally {
      expect((await daemon.cli(["-m", "node", "-T", iqn(), "-p", portal, "--logout"])).code).toBe(0);
    }
  }, 60_000);
}

test("without a binding the routing table's preferred link is used; an unknown interface is a clear login error", async () => {
  await set("iface.net_ifacename", "");
  await set("iface.ipaddress", "");
  expect((await daemon.cli(["-m", "node", "-T", iqn(), "-p", portal, "--login"])).code).toBe(0);
  expect(await peersSeenByTarget()).toEqual([links[0]!.a.address]);
  expect((await daemon.cli(["-m", "node", "-T", iqn(), "-p", portal, "--logout"])).code).toBe(0);
  await set("iface.net_ifacename", "ne-nosuch0");
  await set("node.session.initial_login_retry_max", "0");
  const bad = await daemon.cli(["-m", "node", "-T", iqn(), "-p", portal, "--login"]);
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain("from interface ne-nosuch0: No such device");
}, 60_000);
