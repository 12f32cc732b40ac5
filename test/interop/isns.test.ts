// iSNS discovery against the real thing: an open-isns server (isnsd) started here with its own config, database
// and control socket, tgtd registering its targets with it, and our daemon and CLI as a user runs them. isnsd
// always binds port 3205, so every test that starts one lives in this file (and the harness holds a lock).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Isnsd } from "../harness/isnsd.ts";
import { pollUntil } from "../harness/processes.ts";
import { TestDaemon } from "../harness/iscsid.ts";
import { IsnsClient } from "../../src/discovery/isns-client.ts";
import { devAttrQryNode, scnDereg } from "../../src/isns/messages.ts";
import { iqnFor } from "../harness/daemon.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";
import { startDashboard, visit } from "../ui/setup.ts";

const SERVER = "127.0.0.1:3205";
const base = `isns${process.pid}-t`;
let isns: Isnsd;
let tgt: TgtdTarget;
const daemons: TestDaemon[] = [];
/** Targets tgtd registered with isnsd, in order. */
const registered: string[] = [];

async function daemon(config: string): Promise<TestDaemon> {
  const d = new TestDaemon({ config });
  daemons.push(d);
  await d.start();
  return d;
}

async function initiatorName(d: TestDaemon): Promise<string> {
  return JSON.parse((await d.cli(["status", "--json"])).stdout).daemon.initiatorName;
}

/**
 * QUIRK(tgt): tgtd keeps one SCN socket in a global; when isnsd opens a second SCN connection before the first
 * closes (two of tgtd's targets registered for SCNs, one event), tgtd spins on a closed descriptor and stops
 * answering tgtadm. tgtd asks for SCNs again at each target it registers, so after each one the interest is
 * withdrawn (as the target itself, which isnsd allows without authentication): never two at a time.
 */
/**
 * Whether the server lists `iqn`, asked as that node itself: unlike `isnsadm --local`, which registers a control
 * node each time, this triggers no SCN, so tgtd is never notified while it still asks for SCNs.
 */
async function listed(iqn: string): Promise<boolean> {
  const client = await IsnsClient.connect({ host: "127.0.0.1", port: 3205 }, 5000);
  try {
    return (await client.call(devAttrQryNode(iqn, iqn), [6, 7, 9])).operating.length > 0;
  } finally {
    client.close();
  }
}

async function quietTgtd(names: string[]): Promise<void> {
  const client = await IsnsClient.connect({ host: "127.0.0.1", port: 3205 }, 5000);
  try {
    for (const n of names) await client.call(scnDereg(n, n), [9]);
  } finally {
    client.close();
  }
}

async function addTarget(tid: number): Promise<string> {
  const iqn = iqnFor(`${base}${tid}`);
  await tgt.tgtadm(["--mode", "target", "--op", "new", "--tid", String(tid), "--targetname", iqn]);
  await tgt.tgtadm(["--mode", "target", "--op", "bind", "--tid", String(tid), "--initiator-address", "ALL"]);
  await pollUntil(
    async () => ((await listed(iqn)) ? true : undefined),
    10_000,
    () => `tgtd did not register ${iqn}`,
  );
  await quietTgtd([...registered, iqn]);
  registered.push(iqn);
  return iqn;
}

/** Polls `-m node` until `check` holds; returns the last output. */
async function nodeListUntil(
  d: TestDaemon,
  check: (out: string) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<string> {
  let last = "";
  return pollUntil(
    async () => {
      last = (await d.cli(["-m", "node"])).stdout;
      return check(last) ? last : undefined;
    },
    timeoutMs,
    () => `${what} within ${timeoutMs} ms; last -m node output:\n${last}\ndaemon log:\n${d.log().slice(-2000)}`,
  );
}

beforeAll(async () => {
  isns = await Isnsd.start();
  tgt = await startTgtd({ targets: 1, targetBase: base });
  for (const [name, value] of [
    ["iSNSServerIP", "127.0.0.1"],
    ["iSNSServerPort", "3205"],
    ["iSNS", "On"],
  ]) {
    await tgt.tgtadm(["--mode", "sys", "--op", "update", "--name", name!, "--value", value!]);
  }
  const first = tgt.targets[0]!.iqn;
  await pollUntil(
    async () => ((await listed(first)) ? true : undefined),
    10_000,
    () => "tgtd did not register its target with isnsd",
  );
  await quietTgtd([first]);
  registered.push(first);
  await addTarget(2);
});

afterAll(async () => {
  if (process.env.ISNS_TEST_DEBUG) {
    await Bun.write("/tmp/isns-try/tgtd.log", tgt.log());
    await Bun.write("/tmp/isns-try/isnsd.log", isns.log());
  }
  for (const d of daemons) await d.stop();
  await tgt?.stop();
  await isns?.stop();
});

describe("iSNS discovery through the daemon", () => {
  let d: TestDaemon;
  let me: string;

  test("-m discoverydb -t isns --discover lists both targets tgtd registered and records them as nodes", async () => {
    d = await daemon("discovery.isns.discoveryd_poll_inval = 0\n");
    me = await initiatorName(d);
    const r = await d.cli(["-m", "discoverydb", "-t", "isns", "-p", SERVER, "--discover"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(registered.length).toBe(2);
    for (const iqn of registered) expect(r.stdout).toContain(`127.0.0.1:${tgt.port},1 ${iqn}`);
    const nodes = JSON.parse((await d.cli(["-m", "node", "--json"])).stdout).nodes as Array<{
      target: string;
      discovery: { type: string; port: number };
    }>;
    expect(nodes.map((n) => n.target).sort()).toEqual([...registered].sort());
    expect(nodes.every((n) => n.discovery.type === "isns" && n.discovery.port === 3205)).toBe(true);
    // Our initiator is registered, with the portal the server sends SCNs to.
    expect(await isns.nodeNames()).toContain(me);
    const show = await d.cli(["-m", "discoverydb", "-t", "isns", "-p", SERVER, "-o", "show"]);
    expect(show.stdout).toContain("discovery.type = isns");
    expect(show.stdout).toContain("discovery.isns.discoveryd_poll_inval = 0");
  });

  test("a target created on tgtd afterwards becomes a node through an SCN, without any command (polling off)", async () => {
    const iqn = await addTarget(3);
    const out = await nodeListUntil(d, (o) => o.includes(iqn), `${iqn} did not appear`);
    expect(out).toContain(`127.0.0.1:${tgt.port},1 ${iqn}`);
    expect(d.log()).toContain("SCN");
  });

  test("a target removed from the server is marked stale, not deleted", async () => {
    const iqn = iqnFor(`${base}3`);
    await tgt.tgtadm(["--mode", "target", "--op", "delete", "--tid", "3"]);
    await pollUntil(
      async () => (!(await listed(iqn)) ? true : undefined),
      10_000,
      () => `tgtd did not deregister ${iqn} from isnsd`,
    );
    const out = await nodeListUntil(d, (o) => o.includes(`${iqn} (stale)`), `${iqn} was not marked stale`);
    expect(out).toContain(`127.0.0.1:${tgt.port},1 ${iqn} (stale)`);
    const json = JSON.parse((await d.cli(["-m", "node", "--json"])).stdout).nodes as Array<{
      target: string;
      stale?: string;
    }>;
    expect(json.find((n) => n.target === iqn)?.stale).toBeString();
    expect(json.filter((n) => !n.stale).length).toBe(2);
  });

  test("daemon stop deregisters our initiator from the server", async () => {
    expect(await isns.nodeNames()).toContain(me);
    await d.terminate();
    expect(await isns.nodeNames()).not.toContain(me);
  });
});

describe("iSNS with SCNs off", () => {
  test("a new target becomes a node within the poll interval, and is logged in as node.startup = automatic asks", async () => {
    const d = await daemon(
      "discovery.isns.use_scn = No\ndiscovery.isns.discoveryd_poll_inval = 2\nnode.startup = automatic\n",
    );
    const r = await d.cli(["-m", "discovery", "-t", "isns", "-p", "127.0.0.1"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(registered[0]!);
    const iqn = await addTarget(4);
    await nodeListUntil(d, (o) => o.includes(iqn), `${iqn} did not appear within the poll interval`, 10_000);
    expect(d.log()).not.toContain("SCN for");
    await pollUntil(
      async () =>
        (JSON.parse((await d.cli(["sessions", "--json"])).stdout).sessions as Array<{ target: string }>).some(
          (x) => x.target === iqn,
        )
          ? true
          : undefined,
      15_000,
      () => `no session to ${iqn}:\n${d.log().slice(-1500)}`,
    );
    await d.terminate();
  });
});

describe("discovery domains", () => {
  test("a target in a discovery domain we are not in is not seen", async () => {
    const d = await daemon("discovery.isns.use_discoveryd = No\n");
    const me = await initiatorName(d);
    const [first, second] = registered;
    // One domain holding our initiator and the first target: the second stays in the default domain without us.
    await isns.isnsadm(["--dd-register", `dd-name=is${process.pid}`, `member-name=${me}`, `member-name=${first}`]);
    const r = await d.cli(["discover", "--isns", "127.0.0.1", "--json"]);
    expect(r.code).toBe(0);
    const names = (JSON.parse(r.stdout).targets as Array<{ name: string }>).map((t) => t.name);
    expect(names).toContain(first!);
    expect(names).not.toContain(second!);
    await d.terminate();
  });
});

describe("iscsi doctor --isns", () => {
  test("reports the server reachable, registration and query answered, our node visible, SCN accepted; leaves nothing registered", async () => {
    const d = await daemon("discovery.isns.use_discoveryd = No\n");
    const me = await initiatorName(d);
    const r = await d.cli(["doctor", "--isns", "127.0.0.1", "--json"]);
    const report = JSON.parse(r.stdout) as { findings: Array<{ check: string; status: string; summary: string }> };
    const isnsFindings = Object.fromEntries(
      report.findings.filter((f) => f.check.startsWith("isns.")).map((f) => [f.check, f]),
    );
    expect(Object.keys(isnsFindings).sort()).toEqual([
      "isns.query",
      "isns.register",
      "isns.scn",
      "isns.tcp",
      "isns.visible",
    ]);
    for (const f of Object.values(isnsFindings)) expect(f.status).toBe("ok");
    expect(isnsFindings["isns.query"]!.summary).toContain(registered[1]!);
    expect(await isns.nodeNames()).not.toContain(me);
    await d.terminate();
  });

  test("a server that does not answer is a failed check with the transport exit code", async () => {
    const standalone = new TestDaemon();
    daemons.push(standalone);
    const r = await standalone.cli(["doctor", "--isns", "127.0.0.1:1", "--json"]);
    const report = JSON.parse(r.stdout) as { findings: Array<{ check: string; status: string }> };
    expect(report.findings.find((f) => f.check === "isns.tcp")?.status).toBe("fail");
    expect(r.code).toBe(4);
  });
});

describe("dashboard", () => {
  test("the discovery page asks an iSNS server and saves a target it lists as an iSNS node", async () => {
    const ui = await startDashboard();
    try {
      const { page, d } = ui;
      await visit(page, "discovery", "Discovery");
      await page.getByLabel("Method").selectOption("isns");
      await page.getByLabel("Portal").fill("127.0.0.1");
      await page.getByRole("button", { name: "Discover", exact: true }).click();
      const iqn = registered[1]!;
      await page.getByRole("button", { name: `Save ${iqn} at 127.0.0.1:${tgt.port} as a node` }).click();
      await page.getByRole("link", { name: "Saved — open node" }).first().waitFor();
      const nodes = JSON.parse((await d.cli(["nodes", "--json"])).stdout).nodes as Array<{
        target: string;
        discovery?: { host: string; type: string; port: number };
      }>;
      expect(nodes.find((n) => n.target === iqn)?.discovery).toEqual({ host: "127.0.0.1", port: 3205, type: "isns" });
      expect(await page.getByRole("cell", { name: "iSNS", exact: true }).count()).toBe(1);
    } finally {
      await ui.stop();
    }
  });
});

describe("registration refresh", () => {
  test("our registration outlives the server's registration period; without refreshes it expires", async () => {
    // A server of its own with a short period; tgtd goes first, so it never talks to a stopped isnsd.
    await tgt.stop();
    await isns.stop();
    isns = await Isnsd.start({ registrationPeriod: 16 });
    const d = await daemon("discovery.isns.discoveryd_poll_inval = 0\n");
    const me = await initiatorName(d);
    expect((await d.cli(["-m", "discovery", "-t", "isns", "-p", SERVER])).code).toBe(0);
    await Bun.sleep(24_000); // 1.5 periods: refreshed at 8 s and 16 s
    expect(await isns.nodeNames()).toContain(me);
    await d.kill9(); // no deregistration, no refresh: the server must drop us by itself
    await pollUntil(
      async () => (!(await isns.nodeNames()).includes(me) ? true : undefined),
      30_000,
      () => `${me} never expired`,
    );
  }, 90_000);
});
