// The 60-second cases, run side by side (one rig each, all started at once) so the suite pays the minute once:
// the link to the target down for 60 s, and the laptop-sleep stand-in (the daemon SIGSTOPped for 60 s while
// tgtd is killed and restarted, then SIGCONT: its clock jumped), plain and with simulated will-sleep/did-wake
// around it. Each runs an attached ext4 under an fsync writer; afterwards every acknowledged file is read back
// through the mount and, after detaching, from the raw LU by qemu-img; none may be lost.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { inBackground, Rig, type WriterResult } from "./_rig.ts";

const OUTAGE_MS = 60_000;
const rigs: Rig[] = [];

interface Outcome {
  result: WriterResult;
  throughMount: number[];
  independent: number[];
  reinstatements: number;
  notes: Record<string, unknown>;
}

async function scenario(run: (rig: Rig, notes: Record<string, unknown>) => Promise<void>): Promise<Outcome> {
  const rig = await Rig.start();
  rigs.push(rig);
  const notes: Record<string, unknown> = {};
  const w = await rig.startWriter();
  await rig.progress(w, 10);
  await run(rig, notes);
  await rig.untilReinstated(1);
  await rig.progress(w, 10);
  const result = await w.stop();
  const reinstatements = (await rig.sessions())[0]!.stats.reinstatements!;
  return {
    result,
    throughMount: await rig.checkThroughMount(result),
    independent: await rig.checkIndependently(result),
    reinstatements,
    notes,
  };
}

/** SIGSTOP the daemon for the outage; meanwhile tgtd dies and comes back; then SIGCONT. */
async function sleepThroughTargetRestart(rig: Rig): Promise<void> {
  const pid = rig.daemon.pid!;
  process.kill(pid, "SIGSTOP");
  try {
    await Bun.sleep(OUTAGE_MS / 4);
    await rig.target.kill9();
    await Bun.sleep(OUTAGE_MS / 4);
    await rig.target.restart();
    await Bun.sleep(OUTAGE_MS / 2);
  } finally {
    process.kill(pid, "SIGCONT");
  }
}

let linkDown: () => Promise<Outcome>;
let sleepPlain: () => Promise<Outcome>;
let sleepEvents: () => Promise<Outcome>;

beforeAll(() => {
  linkDown = inBackground(() =>
    scenario(async (rig) => {
      await rig.lab.down(rig.links[0]!.a);
      await Bun.sleep(OUTAGE_MS);
      await rig.lab.up(rig.links[0]!.a);
    }),
  );
  sleepPlain = inBackground(() => scenario(sleepThroughTargetRestart));
  sleepEvents = inBackground(() =>
    scenario(async (rig, notes) => {
      notes.willSleep = JSON.parse(await rig.cliOk(["event", "will-sleep", "--json"]));
      await sleepThroughTargetRestart(rig);
      notes.didWake = JSON.parse(await rig.cliOk(["event", "did-wake", "--json"]));
    }),
  );
});

afterAll(async () => {
  for (const r of rigs) await r.destroy();
});

test("link down 60 s under an fsync writer on ext4: the session is reinstated and no acknowledged file is lost", async () => {
  const o = await linkDown();
  expect(o.result.acked.length).toBeGreaterThanOrEqual(20);
  expect(o.result.failed).toEqual([]);
  expect(o.reinstatements).toBeGreaterThanOrEqual(1);
  expect(o.throughMount).toEqual([]);
  expect(o.independent).toEqual([]);
  // The writer's longest fsync stall covers the outage: the write waited, it was not failed.
  expect(o.result.longestStallMs).toBeGreaterThan(OUTAGE_MS - 5_000);
}, 300_000);

test("sleep stand-in: daemon SIGSTOPped 60 s while tgtd is killed and restarted, then SIGCONT: reinstated, nothing lost", async () => {
  const o = await sleepPlain();
  expect(o.result.failed).toEqual([]);
  expect(o.reinstatements).toBeGreaterThanOrEqual(1);
  expect(o.throughMount).toEqual([]);
  expect(o.independent).toEqual([]);
}, 300_000);

test("the same with will-sleep before and did-wake after: the LUN is flushed, keepalive paused, never logged out; nothing lost", async () => {
  const o = await sleepEvents();
  const willSleep = o.notes.willSleep as { flushed: number; sessions: Array<{ outcome: string }>; problems: string[] };
  const didWake = o.notes.didWake as { sessions: Array<{ outcome: string }> };
  expect(willSleep.flushed).toBe(1);
  expect(willSleep.problems).toEqual([]);
  expect(willSleep.sessions.map((s) => s.outcome)).toEqual(["paused"]);
  // At wake the old connection is dead (tgtd was restarted): the probe drops it or recovery already runs.
  expect(["dropped", "retrying", "alive"]).toContain(didWake.sessions[0]!.outcome);
  expect(o.result.failed).toEqual([]);
  expect(o.reinstatements).toBeGreaterThanOrEqual(1);
  expect(o.throughMount).toEqual([]);
  expect(o.independent).toEqual([]);
}, 300_000);
