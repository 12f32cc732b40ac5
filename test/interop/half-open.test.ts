// Half-open connections (reliability.md case 58): with the fault proxy between us and a real tgtd, a link
// that silently stops forwarding (no FIN, no RST) is detected by the NOP keepalive within interval +
// timeout; a slow but busy link is never called dead; recovery brings the session back when traffic flows.
import { afterEach, expect, test } from "bun:test";
import { startTgtd, type StartedTarget } from "../harness/tgtd.ts";
import { FaultProxy } from "../fault/proxy.ts";
import { openLu } from "./_util.ts";
import type { LogicalUnit } from "../../src/session/logical-unit.ts";
import type { Session } from "../../src/session/session.ts";

let t: StartedTarget | undefined;
let proxy: FaultProxy | undefined;
let lu: LogicalUnit<Session> | undefined;
afterEach(async () => {
  lu?.session.close();
  await proxy?.stop();
  await t?.stop();
  lu = proxy = t = undefined;
});

const INTERVAL = 1000;
const TIMEOUT = 1000;

async function through(): Promise<LogicalUnit<Session>> {
  t = await startTgtd({ luns: [{ sizeMiB: 16 }] });
  proxy = await FaultProxy.start({ host: "127.0.0.1", port: t.port });
  lu = await openLu(proxy.portal.port, t.targets[0]!.iqn, 1);
  Object.assign(lu.session.recoveryOptions, { nopIntervalMs: INTERVAL, nopTimeoutMs: TIMEOUT, maxBackoffMs: 500 });
  lu.session.keepalive.start();
  return lu;
}

test("a link that stops forwarding without FIN/RST is detected within interval + timeout, and recovered after", async () => {
  const lu = await through();
  proxy!.stall("both");
  const stalled = performance.now();
  while (lu.session.history.length === 0 && performance.now() - stalled < 10_000) await Bun.sleep(20);
  const detectedAfter = performance.now() - stalled;
  expect(lu.session.history[0]?.event).toBe("lost");
  expect(lu.session.history[0]?.detail).toMatch(/no answer to NOP-Out/);
  expect(detectedAfter).toBeLessThan(INTERVAL + TIMEOUT + 600);
  // The stalled link is dead for good; new connections through the proxy work again.
  proxy!.dropAll("rst");
  proxy!.resume("both");
  const until = performance.now() + 15_000;
  while (lu.session.state.kind !== "full-feature" && performance.now() < until) await Bun.sleep(50);
  expect(lu.session.state.kind).toBe("full-feature");
  await lu.testUnitReady();
  console.log(
    `half-open link detected after ${(detectedAfter / 1000).toFixed(2)} s (NOP interval ${INTERVAL / 1000} s + timeout ${TIMEOUT / 1000} s)`,
  );
}, 30_000);

test("a slow but busy link is not declared dead", async () => {
  const lu = await through();
  proxy!.delay("down", 150);
  const bs = lu.capacity!.blockSize;
  const end = performance.now() + 3 * (INTERVAL + TIMEOUT);
  let reads = 0;
  const worker = async () => {
    while (performance.now() < end) {
      await lu.read(BigInt((reads % 16) * ((1 << 20) / bs)), (1 << 20) / bs);
      reads++;
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  expect(reads).toBeGreaterThan(8);
  expect(lu.session.history.map((h) => `${h.event}: ${h.detail}`)).toEqual([]);
}, 30_000);
