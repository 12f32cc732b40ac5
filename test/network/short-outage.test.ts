// Short link losses, side by side: the link down 5 s (writes wait, nothing fails, nothing lost), and down past
// the replacement timeout on the raw device (writes then fail with EIO, never report success; once the link
// returns the disk works again). Every acknowledged step is checked through the device and by qemu-img.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { inBackground, Rig, type WriterResult } from "./_rig.ts";

const rigs: Rig[] = [];
const REPLACEMENT_S = 4;

interface Outcome {
  result: WriterResult;
  throughDevice: number[];
  independent: number[];
}

async function outage(downMs: number, opts: { fs?: "ext4" | "raw"; replacementTimeout?: number }): Promise<Outcome> {
  const rig = await Rig.start(opts);
  rigs.push(rig);
  const w = await rig.startWriter();
  await rig.progress(w, 10);
  await rig.lab.down(rig.links[0]!.a);
  await Bun.sleep(downMs);
  await rig.lab.up(rig.links[0]!.a);
  await rig.progress(w, 10);
  const result = await w.stop();
  return {
    result,
    throughDevice: await rig.checkThroughMount(result),
    independent: await rig.checkIndependently(result),
  };
}

let five: () => Promise<Outcome>;
let past: () => Promise<Outcome>;
beforeAll(() => {
  five = inBackground(() => outage(5_000, {}));
  past = inBackground(() => outage(REPLACEMENT_S * 1000 + 8_000, { fs: "raw", replacementTimeout: REPLACEMENT_S }));
});
afterAll(async () => {
  for (const r of rigs) await r.destroy();
});

test("link down 5 s under an fsync writer on ext4: writes wait, none fails, nothing acknowledged is lost", async () => {
  const o = await five();
  expect(o.result.failed).toEqual([]);
  expect(o.result.longestStallMs).toBeGreaterThan(3_000);
  expect(o.throughDevice).toEqual([]);
  expect(o.independent).toEqual([]);
}, 240_000);

test("link down past the replacement timeout: writes fail with EIO (never success), and work again once the link is back", async () => {
  const o = await past();
  expect(o.result.failed.length).toBeGreaterThan(0);
  expect(new Set(o.result.failed.map((f) => f.errno))).toEqual(new Set([5])); // EIO
  // Nothing that failed was acknowledged, and acknowledged steps continue after the failures.
  const lastFailure = Math.max(...o.result.failed.map((f) => f.step));
  expect(o.result.acked.filter((s) => s > lastFailure).length).toBeGreaterThanOrEqual(10);
  expect(o.result.acked.filter((s) => o.result.failed.some((f) => f.step === s))).toEqual([]);
  expect(o.throughDevice).toEqual([]);
  expect(o.independent).toEqual([]);
}, 240_000);
