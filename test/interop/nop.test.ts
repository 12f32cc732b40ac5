// tgtd pings idle sessions with NOP-In (nop_interval); we answer each with a NOP-Out echoing its TTT
// (RFC 7143 §11.18–§11.19), so the target keeps the session, and our own NOP-Out ping gets its NOP-In.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTgtd, type StartedTarget } from "../harness/tgtd.ts";
import { openLu } from "./_util.ts";

let t: StartedTarget;
beforeAll(async () => {
  // QUIRK(tgt): NOP-In pings need nop_count set as well as nop_interval.
  t = await startTgtd({ luns: [{ sizeMiB: 8 }], nopInterval: 1, nopCount: 3 });
});
afterAll(async () => {
  await t?.stop();
});

test("an idle session answers tgtd's NOP-In pings and stays usable", async () => {
  const lu = await openLu(t.port, t.targets[0]!.iqn, 1);
  try {
    await Bun.sleep(3500);
    expect(lu.session.stats.nopInAnswered).toBeGreaterThanOrEqual(2);
    expect(lu.session.state.kind).toBe("full-feature");
    await lu.testUnitReady();
    const rtt = await lu.session.requests.ping(2000);
    expect(rtt).toBeGreaterThanOrEqual(0);
  } finally {
    await lu.session.logout();
  }
}, 20_000);
