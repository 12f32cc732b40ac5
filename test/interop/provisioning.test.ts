// WRITE SAME(16), UNMAP and MODE SENSE against tgtd: a thin LUN that advertises UNMAP in VPD 0xB0, and a
// thick one that refuses it with a decoded ILLEGAL REQUEST.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ScsiStatusError } from "../../src/scsi/index.ts";
import { startTgtd, type StartedTarget } from "../harness/tgtd.ts";
import { openLu } from "./_util.ts";

let t: StartedTarget;
beforeAll(async () => {
  t = await startTgtd({ luns: [{ sizeMiB: 16, thin: true }, { sizeMiB: 16 }] });
});
afterAll(async () => {
  await t?.stop();
});

test("WRITE SAME(16) fills the range with the block; UNMAP on the thin LUN gives zeros back", async () => {
  const lu = await openLu(t.port, t.targets[0]!.iqn, 1);
  try {
    expect(lu.capacity!.thinProvisioned).toBe(true);
    expect((await lu.blockLimits()).maxUnmapLbaCount).toBeGreaterThan(0);
    const block = new Uint8Array(lu.capacity!.blockSize).fill(0xa5);
    await lu.writeSame(64n, 32, block);
    const filled = await lu.read(64n, 32);
    expect(filled.every((b) => b === 0xa5)).toBe(true);
    await lu.unmap([{ lba: 64n, blocks: 32 }]);
    const after = await lu.read(64n, 32);
    expect(after.every((b) => b === 0)).toBe(true);
  } finally {
    await lu.session.logout();
  }
});

test("UNMAP on a thick LUN fails with the target's sense decoded", async () => {
  const lu = await openLu(t.port, t.targets[0]!.iqn, 2);
  try {
    expect(lu.capacity!.thinProvisioned).toBe(false);
    const err = await lu.unmap([{ lba: 0n, blocks: 8 }]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ScsiStatusError);
    expect((err as Error).message).toMatch(/UNMAP failed: CHECK CONDITION, ILLEGAL REQUEST/);
  } finally {
    await lu.session.logout();
  }
});

test("MODE SENSE(10) returns the caching page", async () => {
  const lu = await openLu(t.port, t.targets[0]!.iqn, 1);
  try {
    const data = await lu.modeSense(0x08);
    expect(data.length).toBeGreaterThanOrEqual(8 + 2);
  } finally {
    await lu.session.logout();
  }
});
