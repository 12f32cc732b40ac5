// The session's latency counters (completed, latencyMicros) against the scripted fake target: a command
// answered after a known delay is counted once with at least that delay; one that fails is not counted.
import { expect, test } from "bun:test";
import { Opcode, type ScsiCommand } from "../../src/pdu/index.ts";
import { type FakeTargetOptions } from "../fake/target.ts";
import type { Session } from "../../src/session/session.ts";
import { advance, settle, withFakeClock } from "../support/clock.ts";
import { fakeFixture } from "../support/fake-session.ts";

const fake = fakeFixture();

async function open(opts: FakeTargetOptions): Promise<Session> {
  return fake.open(opts);
}

const tur = { lun: 0, cdb: new Uint8Array(6), direction: "none" as const, transferLength: 0, name: "TEST UNIT READY" };
const DELAY_MS = 40;

test("a command answered after a delay adds one completion and exactly that delay in microseconds", async () => {
  const s = await open({
    onPdu(c, f) {
      if (f.pdu.opcode !== Opcode.ScsiCommand) return;
      const cmd = f.pdu as ScsiCommand;
      setTimeout(() => c.good(cmd), DELAY_MS);
    },
  });
  expect(s.stats.completed).toBe(0);
  // On the fake clock the target's delay is the only time that passes, so the sum is exact.
  await withFakeClock(async () => {
    for (let i = 0; i < 2; i++) {
      const done = s.execute(tur);
      await advance(DELAY_MS);
      await done;
    }
  });
  expect(s.stats.commands).toBe(2);
  expect(s.stats.completed).toBe(2);
  expect(s.stats.latencyMicros).toBe(2 * DELAY_MS * 1000);
});

test("a command that never gets a status is not counted as completed", async () => {
  const s = await open({ onPdu() {} });
  const pending = s.execute(tur);
  await settle();
  s.close();
  await expect(pending).rejects.toThrow();
  expect(s.stats.commands).toBe(1);
  expect(s.stats.completed).toBe(0);
  expect(s.stats.latencyMicros).toBe(0);
});
