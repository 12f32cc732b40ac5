// The interface switch (Wi-Fi drops while Ethernet stays): the target's address is reachable over two links
// of different preference; the link our connection uses goes down and loses its address. The daemon hears it
// from rtnetlink, drops the connection whose local address is gone at once and reconnects over the other link,
// instead of waiting for the NOP-Out timeout (measured before this reaction: a 12.3 s fsync stall). The longest
// fsync stall of an ext4 writer must stay within 5 s, and nothing acknowledged may be lost.
import { afterAll, expect, test } from "bun:test";
import { Rig } from "./_rig.ts";

const MAX_STALL_MS = 5_000;
let rig: Rig | undefined;
afterAll(async () => {
  await rig?.destroy();
});

test("the used link goes down and loses its address: fsync stalls at most 5 s, the session moves to the other link, nothing lost", async () => {
  rig = await Rig.start({ links: 2, targetHost: (r) => r.lab.hostAddress(r.ns, r.links) });
  const [preferred, backup] = rig.links as [NonNullable<Rig["links"][0]>, NonNullable<Rig["links"][0]>];
  const w = await rig.startWriter();
  await rig.progress(w, 20);
  const before = w.read().steps.length;
  await rig.lab.down(preferred.a);
  await rig.lab.flush(preferred.a);
  await rig.untilReinstated(1);
  await rig.progress(w, 20);
  const result = await w.stop();
  const during = result.steps.slice(before);
  const stall = Math.max(...during.map((s) => s.endMs - s.startMs));
  console.log(
    `interface switch: longest fsync stall ${Math.round(stall)} ms over ${during.length} steps after the switch`,
  );
  expect(result.failed).toEqual([]);
  expect(stall).toBeLessThanOrEqual(MAX_STALL_MS);
  const s = (await rig.sessions())[0]!;
  expect(s.history.find((h) => h.event === "lost")?.detail).toContain("network changed: local address");
  expect(s.history.find((h) => h.event === "lost")?.detail).toContain(preferred.a.address);
  expect(backup.a.address).not.toBe(preferred.a.address);
  expect(await rig.checkThroughMount(result)).toEqual([]);
  expect(await rig.checkIndependently(result)).toEqual([]);
}, 240_000);
