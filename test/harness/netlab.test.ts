// Proves the network lab (netlab.ts): a namespace and a veth link made and removed by the test, names unique per
// run, the unreachable guards in place before a link goes down (a down link's address is then unreachable at
// once instead of routed out of the machine), tgtd inside the namespace reachable from the main one, and
// nothing of the lab left afterwards.
import { afterAll, expect, test } from "bun:test";
import { connectTcp } from "../../src/transport/tcp.ts";
import { ip, LAB_PREFIX, NetLab } from "./netlab.ts";
import { iscsiLs } from "./initiators.ts";
import { runTool } from "./processes.ts";
import { startTgtd, type TgtdTarget } from "./tgtd.ts";

let lab: NetLab | undefined;
let target: TgtdTarget | undefined;
afterAll(async () => {
  await target?.stop();
  await lab?.destroy();
});

test("a lab namespace with tgtd behind a veth link: reachable, guarded while down, reachable again, then removed without a trace", async () => {
  lab = await NetLab.create();
  expect(lab.tag).toStartWith(`ne${process.pid.toString(36)}`);
  const guard = await ip(undefined, ["route", "show", LAB_PREFIX]);
  expect(guard).toContain(`unreachable ${LAB_PREFIX}`);
  expect(guard).toContain(`metric ${lab.metric}`);

  const ns = await lab.namespace();
  expect(await ip(ns, ["route", "show", LAB_PREFIX])).toContain("unreachable");
  const link = await lab.veth(undefined, ns);
  expect(link.a.name.length).toBeLessThan(16);
  expect(link.subnet).toMatch(/^198\.18\.(1[6-9]|2\d|3[01])\.\d+\/28$/);

  target = await startTgtd({ luns: [{ sizeMiB: 8 }], netns: { name: ns, host: link.b.address } });
  expect(target.portal).toBe(`${link.b.address}:${target.port}`);
  expect((await iscsiLs(target.portal)).map((x) => x.iqn)).toContain(target.targets[0]!.iqn);

  await lab.down(link.a);
  // The guard answers now: the kernel refuses at once (no packet leaves the machine, no SYN retries).
  const route = await runTool(["ip", "route", "get", link.b.address]);
  expect(route.stderr).toContain("No route to host");
  const refused = await connectTcp(link.b.address, target.port, 3_000).then(
    (t) => (t.close(), undefined),
    (e: Error) => e,
  );
  expect(refused?.message).toContain(`cannot connect to ${link.b.address}`);

  await lab.up(link.a);
  expect((await iscsiLs(target.portal)).map((x) => x.iqn)).toContain(target.targets[0]!.iqn);

  await target.stop();
  target = undefined;
  const tag = lab.tag;
  await lab.destroy();
  expect(await lab.leftovers()).toEqual([]);
  expect(await ip(undefined, ["netns", "list"])).not.toContain(tag);
  lab = undefined;
});
