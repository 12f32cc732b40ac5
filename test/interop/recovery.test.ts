// ERL0 recovery against a real tgtd that dies with SIGKILL (docs/architecture.md, "Recovery (ERL0)"; reliability.md cases 55–57):
// a write-then-verify workload at queue depth 16 loses nothing and resumes soon after the target returns;
// a target down longer than the replacement timeout fails waiting I/O with a clear error (never success)
// and the session works again once the target is back.
import { afterEach, expect, test } from "bun:test";
import { startTgtd, type StartedTarget } from "../harness/tgtd.ts";
import { libiscsiUrl, qemuImgRead } from "../harness/initiators.ts";
import { expectSurvivedKill, firstDifference, openLu, randomData, writeThroughKill } from "./_util.ts";

let t: StartedTarget | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const MiB = 1 << 20;

test("tgtd killed mid-workload (QD16) and back 5 s later: zero bytes lost or wrong, I/O resumes within 15 s", async () => {
  t = await startTgtd({ luns: [{ sizeMiB: 32 }] });
  const lu = await openLu(t.port, t.targets[0]!.iqn, 1, { queueDepth: 32 });
  lu.session.recoveryOptions.replacementTimeoutMs = 60_000;
  const bs = lu.capacity!.blockSize;
  const killed = await writeThroughKill(lu, t, { size: 32 * MiB, chunk: 64 * 1024, downMs: 5000 });
  const { model, before, back, lastDone } = killed;
  expectSurvivedKill(lu, killed);
  expect(lastDone - back).toBeLessThan(15_000);
  // Everything acknowledged is there: through us, and through an independent initiator.
  const all = new Uint8Array(32 * MiB);
  for (let at = 0; at < all.length; at += MiB) all.set(await lu.read(BigInt(at / bs), MiB / bs), at);
  expect(firstDifference(all, model)).toBe(-1);
  await lu.session.logout();
  expect(
    firstDifference(
      await qemuImgRead(libiscsiUrl({ portal: t.portal, iqn: t.targets[0]!.iqn, lun: 1 }), 0, 32 * MiB),
      model,
    ),
  ).toBe(-1);
  console.log(
    `recovery: ${before} verified ops before the kill; I/O resumed ${((lastDone - back) / 1000).toFixed(1)} s after tgtd was back`,
  );
}, 60_000);

test("target down longer than a 10 s replacement timeout: waiting I/O fails clearly, then works once it is back", async () => {
  t = await startTgtd({ luns: [{ sizeMiB: 8 }] });
  const lu = await openLu(t.port, t.targets[0]!.iqn, 1);
  lu.session.recoveryOptions.replacementTimeoutMs = 10_000;
  const data = randomData(64 * 1024);
  await t.kill9();
  const started = performance.now();
  const outcome = await lu.write(0n, data).then(
    () => "success",
    (e: Error & { code?: string }) => e,
  );
  const waited = performance.now() - started;
  expect(outcome).not.toBe("success");
  expect((outcome as Error & { code: string }).code).toBe("TRANSPORT");
  expect((outcome as Error).message).toMatch(/replacement timeout of 10 s/);
  expect(waited).toBeGreaterThan(9_000);
  expect(waited).toBeLessThan(13_000);
  await t.restart();
  const until = performance.now() + 20_000;
  while (lu.session.state.kind !== "full-feature" && performance.now() < until) await Bun.sleep(100);
  expect(lu.session.state.kind).toBe("full-feature");
  await lu.write(0n, data);
  expect(firstDifference(await lu.read(0n, data.length / lu.capacity!.blockSize), data)).toBe(-1);
  await lu.session.logout();
}, 60_000);
