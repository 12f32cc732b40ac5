// The multipath device in-process over two real sessions to one tgtd LU, each through its own fault proxy:
// round-robin spreads commands over both paths, service-time prefers the faster path when one is slowed,
// and with no path up a command waits up to no_path_retry, then fails (or succeeds once a path is back).
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { MultipathDevice, type DeviceSettings } from "../../src/multipath/device.ts";
import { Path } from "../../src/multipath/path.ts";
import { LogicalUnit } from "../../src/session/logical-unit.ts";
import { Session } from "../../src/session/session.ts";
import { FaultProxy } from "../fault/proxy.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";
import { INITIATOR, randomData } from "../interop/_util.ts";

let t: TgtdTarget;
let proxies: FaultProxy[] = [];
let sessions: Session[] = [];
let device: MultipathDevice | undefined;

beforeAll(async () => {
  t = await startTgtd({ luns: [{ sizeMiB: 16 }] });
});

afterEach(async () => {
  device?.close();
  device = undefined;
  for (const s of sessions) s.close();
  for (const p of proxies) await p.stop();
  sessions = [];
  proxies = [];
});

afterAll(async () => {
  await t?.stop();
});

/** A device over two paths (proxy 0 first), each a session with Time2Wait-paced reinstatement. */
async function twoPaths(
  settings: Partial<DeviceSettings>,
): Promise<{ dev: MultipathDevice; lu: LogicalUnit<MultipathDevice>; paths: Path[] }> {
  proxies = [
    await FaultProxy.start({ host: t.host, port: t.port }),
    await FaultProxy.start({ host: t.host, port: t.port }),
  ];
  sessions = await Promise.all(
    proxies.map((p) =>
      Session.open({
        portal: p.portal,
        login: {
          initiatorName: INITIATOR,
          targetName: t.targets[0]!.iqn,
          sessionType: "Normal",
          auth: { method: "None" },
        },
        recovery: { maxBackoffMs: 1000 },
      }),
    ),
  );
  const dev = new MultipathDevice("mpathtest", "naa.test", "test", t.targets[0]!.iqn, {
    policy: "failover",
    failback: "immediate",
    noPathRetryMs: 2000,
    pollingIntervalMs: 1000,
    ...settings,
  });
  const paths = sessions.map(
    (s, i) => new Path(s, 1, { sid: s.id, key: `k${i}`, target: t.targets[0]!.iqn, portal: proxies[i]!.portal }),
  );
  for (const p of paths) dev.addPath(p);
  device = dev;
  const lu = new LogicalUnit(dev, 1);
  await lu.testUnitReady();
  await lu.readCapacity();
  return { dev, lu, paths };
}

/** `n` 4 KiB reads, `depth` at a time. */
async function reads(lu: LogicalUnit<MultipathDevice>, n: number, depth: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: depth }, async () => {
      while (next < n) await lu.read(BigInt((next++ * 8) % 30000), 8);
    }),
  );
}

test("round-robin: commands alternate over both paths", async () => {
  const { lu, paths } = await twoPaths({ policy: "round-robin" });
  const before = paths.map((p) => p.counters.commands);
  await reads(lu, 200, 4);
  const sent = paths.map((p, i) => p.counters.commands - before[i]!);
  expect(sent[0]! + sent[1]!).toBe(200);
  expect(Math.abs(sent[0]! - sent[1]!)).toBeLessThanOrEqual(1);
});

test("service-time: the path a proxy slows by 30 ms gets few commands; queue-length spreads by outstanding", async () => {
  const { dev, lu, paths } = await twoPaths({ policy: "service-time" });
  proxies[0]!.delay("down", 30);
  await reads(lu, 20, 2); // both paths measured
  const before = paths.map((p) => p.counters.commands);
  await reads(lu, 200, 4);
  const sent = paths.map((p, i) => p.counters.commands - before[i]!);
  expect(sent[1]!).toBeGreaterThan(sent[0]! * 4);
  expect(paths[0]!.serviceMicros).toBeGreaterThan(paths[1]!.serviceMicros);

  // queue-length: the slow path holds its commands longer, so it is less often the emptiest.
  dev.settings = { ...dev.settings, policy: "queue-length" };
  const q0 = paths.map((p) => p.counters.commands);
  await reads(lu, 200, 8);
  const q = paths.map((p, i) => p.counters.commands - q0[i]!);
  expect(q[1]!).toBeGreaterThan(q[0]!);
});

test("a write outstanding when its path is cut is re-issued on the other path and lands; read back on both paths", async () => {
  const { dev, lu, paths } = await twoPaths({ policy: "failover" });
  const data = randomData(256 * 1024);
  proxies[0]!.stall("down"); // the target runs the write, its answer is held
  const write = lu.write(100n, data);
  await Bun.sleep(300);
  proxies[0]!.refuse();
  proxies[0]!.dropAll("rst");
  await write;
  expect(dev.stats.reissued).toBeGreaterThanOrEqual(1);
  expect(paths[0]!.state.kind).toBe("down");
  expect(paths[1]!.counters.completed).toBeGreaterThanOrEqual(1);
  const direct = new LogicalUnit(sessions[1]!, 1);
  await direct.readCapacity();
  const back = await direct.read(100n, 512);
  expect(Buffer.compare(back, data)).toBe(0);
});

test("no path up: a command waits, and the path that comes back within no_path_retry carries it", async () => {
  const { dev, lu } = await twoPaths({ noPathRetryMs: 30_000 });
  cutAll();
  await waitUntil(() => dev.state.kind === "recovering", 5000);
  const waiting = lu.read(0n, 8);
  await Bun.sleep(500);
  proxies[1]!.clear();
  expect((await waiting).length).toBe(4096);
  expect(dev.stats.noPathWaits).toBeGreaterThanOrEqual(1);
});

test("no path up past no_path_retry: the waiting command fails, later ones fail at once, never a success", async () => {
  const { dev, lu } = await twoPaths({ noPathRetryMs: 1500 });
  cutAll();
  await waitUntil(() => dev.state.kind === "recovering", 5000);
  const started = performance.now();
  const failed = await lu.read(0n, 8).then(
    () => "succeeded",
    (e: Error) => e.message,
  );
  expect(failed).toMatch(/has no path up .*no_path_retry passed/);
  expect(performance.now() - started).toBeGreaterThan(800);
  expect(
    await lu.read(0n, 8).then(
      () => "succeeded",
      (e: Error) => e.message,
    ),
  ).toMatch(/no path up/);
  expect(dev.stats.noPathFailures).toBeGreaterThanOrEqual(1);
  // A path back: commands go through again.
  proxies[0]!.clear();
  await waitUntil(() => dev.state.kind === "full-feature", 30_000);
  expect((await lu.read(0n, 8)).length).toBe(4096);
});

function cutAll(): void {
  for (const p of proxies) {
    p.refuse();
    p.dropAll("rst");
  }
}

async function waitUntil(ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await Bun.sleep(50);
  }
}
