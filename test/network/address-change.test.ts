// The target's address changes (same IQN, new address; a NAS that came back with another DHCP lease), with an
// attached ext4 under an fsync writer, both cases side by side: a node recorded by host name is resolved again
// at reconnect and found at the new address; a node recorded by address is found again through its discovery
// records (SendTargets at another address of the target) without a user step. Nothing acknowledged is lost.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ip } from "../harness/netlab.ts";
import { HostsEntry } from "./_hosts.ts";
import { inBackground, Rig, type WriterResult } from "./_rig.ts";

const rigs: Rig[] = [];
const hosts: HostsEntry[] = [];

/** Another address in the target's /28 (its end of the link is .2: +1 → .3, +2 → .4). */
const neighbour = (address: string, by: number) => address.replace(/\d+$/, (d) => String(Number(d) + by));

interface Outcome {
  result: WriterResult;
  session: Awaited<ReturnType<Rig["sessions"]>>[0] & { persistentPortal: { host: string; port: number } };
  moved: string;
  throughMount: number[];
  independent: number[];
}

async function move(rig: Rig, to: string, also?: () => void): Promise<Omit<Outcome, "moved">> {
  const w = await rig.startWriter();
  await rig.progress(w, 10);
  const end = rig.links[0]!.b;
  await ip(end.netns, ["addr", "del", `${end.address}/28`, "dev", end.name]);
  await ip(end.netns, ["addr", "add", `${to}/28`, "dev", end.name]);
  also?.();
  rig.targetPortal = `${to}:${rig.target.port}`;
  await rig.untilReinstated(1);
  await rig.progress(w, 10);
  const result = await w.stop();
  const session = (await rig.sessions())[0] as Outcome["session"];
  return {
    result,
    session,
    throughMount: await rig.checkThroughMount(result),
    independent: await rig.checkIndependently(result),
  };
}

async function byHostName(): Promise<Outcome> {
  let entry!: HostsEntry;
  const rig = await Rig.start({
    portal: async (r) => {
      entry = HostsEntry.create(r.lab.tag, r.links[0]!.b.address);
      hosts.push(entry);
      const portal = `${entry.name}:${r.target.port}`;
      await r.cliOk(["-m", "node", "-o", "new", "-T", r.iqn, "-p", portal]);
      return portal;
    },
  });
  rigs.push(rig);
  const moved = neighbour(rig.links[0]!.b.address, 1);
  return { moved, ...(await move(rig, moved, () => entry.set(moved))) };
}

async function byDiscoveryRecord(): Promise<Outcome> {
  let discovery = "";
  const rig = await Rig.start({
    prepare: async (r) => {
      // A second address of the target, known to us only as a discovery record (no node record there).
      discovery = neighbour(r.links[0]!.b.address, 2);
      // A /32 of its own: a secondary address of the /28 would vanish with the primary that the move deletes.
      await r.lab.addAddress(r.links[0]!.b, discovery, 32);
      await r.cliOk(["-m", "discoverydb", "-t", "sendtargets", "-p", `${discovery}:${r.target.port}`, "-o", "new"]);
    },
  });
  rigs.push(rig);
  return { moved: discovery, ...(await move(rig, neighbour(rig.links[0]!.b.address, 1))) };
}

let named: () => Promise<Outcome>;
let recorded: () => Promise<Outcome>;
beforeAll(() => {
  named = inBackground(() => byHostName());
  recorded = inBackground(() => byDiscoveryRecord());
});
afterAll(async () => {
  for (const h of hosts) h.remove();
  for (const r of rigs) await r.destroy();
});

test("a node recorded by host name: the name is resolved again at reconnect and the session continues at the new address", async () => {
  const o = await named();
  expect(o.session.persistentPortal.host).toEndWith(".lab.test");
  expect(o.session.portal.host).toBe(o.moved);
  expect(o.result.failed).toEqual([]);
  expect(o.throughMount).toEqual([]);
  expect(o.independent).toEqual([]);
}, 300_000);

test("a node recorded by address: found again through its discovery record (SendTargets at another address of the target)", async () => {
  const o = await recorded();
  expect(o.session.portal.host).toBe(o.moved);
  expect(o.session.persistentPortal.host).not.toBe(o.moved);
  expect(o.result.failed).toEqual([]);
  expect(o.throughMount).toEqual([]);
  expect(o.independent).toEqual([]);
}, 300_000);
