// The DriverKit HBA's data path, end to end on Linux: ffi/harness/dext_sim.c plays the dext through the same
// arena code (hba_arena.c) → the bridge (hba_bridge.c) → the request ring → src/attach's RequestServer →
// a session → a real tgtd LUN, with driverkit.ts's HbaConnection serving the target. Bytes written through
// it are read back through it and cross-checked with qemu-img; bad LUNs, bad CDBs, hostile arena values,
// malformed notifications and a killed target each show up in the slot as they must (never as GOOD).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { logFor } from "../../src/log.ts";
import { probeGeometry } from "../../src/attach/geometry.ts";
import { Ring } from "../../src/attach/ring.ts";
import { RequestServer } from "../../src/attach/serve.ts";
import { LogicalUnit } from "../../src/session/logical-unit.ts";
import { Session } from "../../src/session/session.ts";
import { libiscsiUrl, qemuImgRead } from "../harness/initiators.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";
import { INITIATOR, randomData } from "../interop/_util.ts";
import { DextSim, Dir, loadHarness, type SimSymbols } from "./dext-sim.ts";

const LUN = 1;
const BLOCK = 512;
const SLOT_BYTES = 512 * 1024;
const GOOD = 0;
const CHECK_CONDITION = 2;
const EINVAL = 22;
const ENXIO = 6;
// struct iscsi_hba_task field offsets (ffi/hba_abi.h).
const TASK = { targetId: 24, transferLength: 28, dataOffset: 32, cdbLength: 56 } as const;
// enum iscsi_hba_refusal.
const REFUSED = { cdbLength: 1, direction: 2, length: 3, dataRange: 4, noTarget: 5 } as const;

const be = (n: number, bytes: number) =>
  Array.from({ length: bytes }, (_, i) => Math.floor(n / 2 ** (8 * (bytes - 1 - i))) % 256);
const inquiry = (alloc = 96) => [0x12, 0, 0, ...be(alloc, 2), 0];
const readCapacity16 = () => [0x9e, 0x10, ...be(0, 8), ...be(32, 4), 0, 0];
const testUnitReady = () => [0, 0, 0, 0, 0, 0];
const reportLuns = () => [0xa0, 0, 0, 0, 0, 0, ...be(256, 4), 0, 0];
const read10 = (lba: number, blocks: number) => [0x28, 0, ...be(lba, 4), 0, ...be(blocks, 2), 0];
const write10 = (lba: number, blocks: number) => [0x2a, 0, ...be(lba, 4), 0, ...be(blocks, 2), 0];
const read16 = (lba: number, blocks: number) => [0x88, 0, ...be(lba, 8), ...be(blocks, 4), 0, 0];
const write16 = (lba: number, blocks: number) => [0x8a, 0, ...be(lba, 8), ...be(blocks, 4), 0, 0];
const synchronizeCache10 = () => [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const senseKey = (sense: Uint8Array) => sense[2]! & 0x0f;

let tgtd: TgtdTarget;
let session: Session;
let ring: Ring;
let server: RequestServer;
let symbols: SimSymbols;
let sim: DextSim;
let cleanup = () => {};

beforeAll(async () => {
  tgtd = await startTgtd({ luns: [{ sizeMiB: 16 }] });
  const harness = await loadHarness();
  symbols = harness.sim;
  cleanup = harness.cleanup;
  session = await Session.open({
    portal: { host: "127.0.0.1", port: tgtd.port },
    login: {
      initiatorName: INITIATOR,
      targetName: tgtd.targets[0]!.iqn,
      sessionType: "Normal",
      auth: { method: "None" },
    },
    // Short, so the killed-target test sees waiting I/O fail within the test's time.
    recovery: { replacementTimeoutMs: 1500, nopIntervalMs: 1000, nopTimeoutMs: 1000, maxBackoffMs: 500 },
  });
  const lu = new LogicalUnit(session, LUN);
  const geometry = await probeGeometry(lu);
  ring = new Ring(harness.attach, 16);
  server = new RequestServer(ring, lu, geometry, { readOnly: false, log: logFor("dext-sim") });
  await server.start();
  sim = new DextSim(symbols, 8);
  sim.connection.serve(0, ring, LUN, () => server.whenIdle());
}, 120_000);

afterAll(async () => {
  try {
    await sim?.connection.close();
    ring?.destroy();
    session?.close(); // the target is dead by now: no logout
  } finally {
    await tgtd?.stop();
    cleanup();
  }
});

describe("dext → bridge → ring → session → tgtd", () => {
  test("INQUIRY and READ CAPACITY(16) come back from the target", async () => {
    const [inq, cap] = await sim.run([
      { cdb: inquiry(), dir: Dir.Read, length: 96 },
      { cdb: readCapacity16(), dir: Dir.Read, length: 32 },
    ]);
    expect({ failed: inq!.transportFailed, status: inq!.status }).toEqual({ failed: false, status: GOOD });
    expect(inq!.data[0]! & 0x1f).toBe(0); // direct-access block device
    expect(inq!.bytes).toBeGreaterThanOrEqual(36);
    expect(new TextDecoder().decode(inq!.data.subarray(8, 16)).trim()).toBe("IET"); // tgtd's vendor id
    const v = new DataView(cap!.data.buffer);
    expect(cap!.status).toBe(GOOD);
    expect((v.getBigUint64(0) + 1n) * BigInt(v.getUint32(8))).toBe(16n * 1024n * 1024n);
  });

  test("WRITE(10) and WRITE(16) in flight together, SYNCHRONIZE CACHE, READ(10)/READ(16) return the same bytes; qemu-img agrees", async () => {
    const small = randomData(64 * 1024);
    const full = randomData(SLOT_BYTES); // a whole slot window
    const writes = await sim.run([
      { cdb: write10(100, small.length / BLOCK), dir: Dir.Write, length: small.length, data: small },
      { cdb: write16(4096, full.length / BLOCK), dir: Dir.Write, length: full.length, data: full },
    ]);
    for (const w of writes)
      expect({ failed: w.transportFailed, status: w.status, bytes: w.bytes }).toEqual({
        failed: false,
        status: GOOD,
        bytes: w.data.length,
      });
    const [sync] = await sim.run([{ cdb: synchronizeCache10(), dir: Dir.None, length: 0 }]);
    expect(sync!.status).toBe(GOOD);
    const [back10, back16] = await sim.run([
      { cdb: read10(100, small.length / BLOCK), dir: Dir.Read, length: small.length },
      { cdb: read16(4096, full.length / BLOCK), dir: Dir.Read, length: full.length },
    ]);
    expect(back10!.status).toBe(GOOD);
    expect(back16!.status).toBe(GOOD);
    expect(Bun.hash(back10!.data)).toBe(Bun.hash(small));
    expect(Bun.hash(back16!.data)).toBe(Bun.hash(full));
    const url = libiscsiUrl({ portal: tgtd.portal, iqn: tgtd.targets[0]!.iqn, lun: LUN });
    expect(Bun.hash(await qemuImgRead(url, 100 * BLOCK, small.length))).toBe(Bun.hash(small));
    expect(Bun.hash(await qemuImgRead(url, 4096 * BLOCK, full.length))).toBe(Bun.hash(full));
  }, 120_000);

  test("every slot busy at once: 64 reads of distinct blocks all complete with the right data", async () => {
    const pattern = randomData(64 * 4096);
    await sim.run([
      { cdb: write10(8192, pattern.length / BLOCK), dir: Dir.Write, length: pattern.length, data: pattern },
    ]);
    const reads = await sim.run(
      Array.from({ length: 64 }, (_, i) => ({ cdb: read10(8192 + i * 8, 8), dir: Dir.Read, length: 4096 })),
    );
    reads.forEach((r, i) => {
      expect(r.status).toBe(GOOD);
      expect(Bun.hash(r.data)).toBe(Bun.hash(pattern.subarray(i * 4096, (i + 1) * 4096)));
    });
    // A 65th task finds no free slot until one is finished.
    const slots = Array.from({ length: 64 }, () => sim.submit({ cdb: testUnitReady(), dir: Dir.None, length: 0 }));
    expect(slots.every((s) => s >= 0)).toBe(true);
    expect(sim.submit({ cdb: testUnitReady(), dir: Dir.None, length: 0 })).toBe(-16); // -EBUSY
    sim.notify();
    await sim.waitDone(slots);
    for (const s of slots) expect(sim.finish(s).status).toBe(GOOD);
    const stats = sim.connection.stats();
    expect(stats.doneCalls).toBeGreaterThan(0);
    expect(stats.doneCalls).toBeLessThanOrEqual(stats.claimed);
  }, 60_000);

  test("a bad LUN: INQUIRY says no unit there, other commands get CHECK CONDITION / LOGICAL UNIT NOT SUPPORTED; REPORT LUNS lists LUN 0", async () => {
    const before = sim.connection.stats().submitted;
    const [inq, tur, luns] = await sim.run([
      { cdb: inquiry(), dir: Dir.Read, length: 96, lun: 3 },
      { cdb: testUnitReady(), dir: Dir.None, length: 0, lun: 3 },
      { cdb: reportLuns(), dir: Dir.Read, length: 256 },
    ]);
    expect(inq!.status).toBe(GOOD);
    expect(inq!.data[0]).toBe(0x7f); // peripheral qualifier 011b, type 1Fh
    expect(tur!.status).toBe(CHECK_CONDITION);
    expect({ key: senseKey(tur!.sense), asc: tur!.sense[12] }).toEqual({ key: 5, asc: 0x25 });
    expect(luns!.status).toBe(GOOD);
    expect([...luns!.data.subarray(0, 16)]).toEqual([0, 0, 0, 8, ...Array(12).fill(0)]);
    expect(sim.connection.stats().submitted).toBe(before); // none of these reached the target
  });

  test("a CDB the target does not know: its CHECK CONDITION and sense arrive in the slot", async () => {
    const [bad] = await sim.run([{ cdb: [0xff, 0, 0, 0, 0, 0], dir: Dir.None, length: 0 }]);
    expect({ failed: bad!.transportFailed, status: bad!.status }).toEqual({ failed: false, status: CHECK_CONDITION });
    expect(senseKey(bad!.sense)).toBe(5); // ILLEGAL REQUEST
    expect(bad!.sense[12]).toBe(0x20); // INVALID COMMAND OPERATION CODE
  });
});

describe("hostile or broken arena contents", () => {
  test("the dext side refuses a transfer longer than a slot before touching the window", () => {
    expect(sim.submit({ cdb: read16(0, SLOT_BYTES / BLOCK + 1), dir: Dir.Read, length: SLOT_BYTES + BLOCK })).toBe(
      -REFUSED.length,
    );
    expect(sim.submit({ cdb: [0x12, 0, 0], dir: Dir.Read, length: 96 })).toBe(-REFUSED.cdbLength);
  });

  test("values changed behind the bridge's back are refused with a reason, never sent", async () => {
    const before = sim.connection.stats();
    const windowAt = (slot: number) => 65536n + BigInt(slot) * 524288n;
    const cases: Array<{
      offset: number;
      width: 4 | 8;
      value: bigint | ((slot: number) => bigint);
      refusal: number;
      error: number;
      text: RegExp;
    }> = [
      {
        offset: TASK.transferLength,
        width: 4,
        value: 600_000n,
        refusal: REFUSED.length,
        error: -EINVAL,
        text: /transfer length exceeds the slot .*transfer length 600000.*524288 bytes/,
      },
      {
        offset: TASK.dataOffset,
        width: 8,
        value: (slot) => windowAt((slot + 1) % 64),
        refusal: REFUSED.dataRange,
        error: -EINVAL,
        text: /data offset outside the slot's window/,
      },
      {
        offset: TASK.dataOffset,
        width: 8,
        value: (slot) => windowAt(slot) + 524288n - 4095n,
        refusal: REFUSED.dataRange,
        error: -EINVAL,
        text: /data offset outside the slot's window/,
      },
      {
        offset: TASK.dataOffset,
        width: 8,
        value: 2n ** 64n - 1n,
        refusal: REFUSED.dataRange,
        error: -EINVAL,
        text: /data offset 18446744073709551615/,
      },
      {
        offset: TASK.cdbLength,
        width: 4,
        value: 0x0117n,
        refusal: REFUSED.cdbLength,
        error: -EINVAL,
        text: /CDB length outside 6\.\.16 \(cdb_length 23/,
      },
      {
        offset: TASK.cdbLength,
        width: 4,
        value: 0x070an,
        refusal: REFUSED.direction,
        error: -EINVAL,
        text: /bad data direction .*direction 7/,
      },
      {
        offset: TASK.targetId,
        width: 4,
        value: 99n,
        refusal: REFUSED.noTarget,
        error: -ENXIO,
        text: /no ring serves this target .*target 99/,
      },
      { offset: TASK.targetId, width: 4, value: 5n, refusal: REFUSED.noTarget, error: -ENXIO, text: /target 5;/ },
    ];
    for (const c of cases) {
      const slot = sim.submit({ cdb: read10(0, 8), dir: Dir.Read, length: 4096 });
      sim.poke(slot, c.offset, c.width, typeof c.value === "function" ? c.value(slot) : c.value);
      sim.notify();
      await sim.waitDone([slot]);
      const out = sim.finish(slot);
      expect({ failed: out.transportFailed, refusal: out.refusal, error: out.error, bytes: out.bytes }).toEqual({
        failed: true,
        refusal: c.refusal,
        error: c.error,
        bytes: 0,
      });
      expect(sim.connection.lastError()).toMatch(c.text);
    }
    const after = sim.connection.stats();
    expect(after.refused - before.refused).toBe(cases.length);
    expect(after.submitted).toBe(before.submitted);
  });

  test("a malformed notification is refused and claims nothing; the next good one does", async () => {
    const slot = sim.submit({ cdb: testUnitReady(), dir: Dir.None, length: 0 });
    const bad = sim.sim.dext_sim_notify_raw(sim.handle, 7n, 1n << BigInt(slot), 0n, 3);
    const short = sim.sim.dext_sim_notify_raw(sim.handle, 1n, 0n, 0n, 2);
    expect([bad, short]).toEqual([-EINVAL, -EINVAL]);
    expect(sim.connection.stats().badNotifications).toBe(2);
    await Bun.sleep(50);
    expect(sim.doneMask() & (1n << BigInt(slot))).toBe(0n);
    expect(sim.notify()).toBe(1);
    await sim.waitDone([slot]);
    expect(sim.finish(slot).status).toBe(GOOD);
  });

  test("an arena whose header disagrees with hba_abi.h is refused, naming the field", () => {
    const err = new Uint8Array(256);
    const text = () => new TextDecoder().decode(err.subarray(0, err.indexOf(0)));
    const arenaBytes = 65536n + 64n * 524288n;
    expect(symbols.dext_sim_try_header(0, 4, 0x41424869n, arenaBytes, err, 256n)).toBe(1); // the right magic: accepted
    expect(symbols.dext_sim_try_header(0, 4, 0xdeadbeefn, arenaBytes, err, 256n)).toBe(0);
    expect(text()).toBe(`arena header: magic is ${0xdeadbeef}, expected ${0x41424869}`);
    expect(symbols.dext_sim_try_header(32, 8, 1n << 30n, arenaBytes, err, 256n)).toBe(0);
    expect(text()).toBe(`arena header: slot_data_bytes is ${2 ** 30}, expected 524288`);
    expect(symbols.dext_sim_try_header(0, 4, 0x41424869n, arenaBytes - 1n, err, 256n)).toBe(0);
    expect(text()).toBe(`arena: ${arenaBytes - 1n} bytes mapped, the layout needs ${arenaBytes}`);
  });

  test("SAM LUN bytes decode to the LUN the bridge sees", () => {
    const lun = (...bytes: number[]) =>
      BigInt(symbols.iscsi_hba_decode_lun(new Uint8Array([...bytes, ...Array(8 - bytes.length).fill(0)])));
    const unsupported = 2n ** 64n - 1n;
    expect(lun(0, 0)).toBe(0n);
    expect(lun(0, 7)).toBe(7n); // peripheral device addressing, bus 0
    expect(lun(0x41, 0x02)).toBe(0x102n); // flat space addressing
    expect(lun(0x05, 1)).toBe(unsupported); // bus 5
    expect(lun(0x80, 1)).toBe(unsupported); // logical unit addressing
    expect(lun(0, 1, 0, 1)).toBe(unsupported); // a second level
  });
});

describe("target loss", () => {
  test("tgtd killed with writes in flight: every slot completes as a transport failure, none as GOOD", async () => {
    const data = randomData(64 * 1024);
    const slots = Array.from({ length: 4 }, (_, i) =>
      sim.submit({ cdb: write10(20_000 + i * 128, 128), dir: Dir.Write, length: data.length, data }),
    );
    await tgtd.kill9();
    sim.notify();
    await sim.waitDone(slots, 60_000);
    for (const slot of slots) {
      const out = sim.finish(slot);
      expect({ failed: out.transportFailed, bytes: out.bytes, sense: out.sense.length }).toEqual({
        failed: true,
        bytes: 0,
        sense: 0,
      });
      expect(out.error).toBeLessThan(0);
    }
    expect(sim.connection.lastError()).toMatch(/no SCSI status, transport error -5/);
  }, 90_000);

  test("removing a target while its commands are still out: the slots stay taken until the consumer settles, then fail", async () => {
    await tgtd.restart();
    const deadline = Date.now() + 30_000;
    while (session.state.kind !== "full-feature" && Date.now() < deadline) await Bun.sleep(50);
    const [again] = await sim.run([{ cdb: testUnitReady(), dir: Dir.None, length: 0 }]);
    expect(again!.status).toBe(GOOD); // the session came back after the restart
    // A stopped tgtd keeps the connection open and answers nothing: the reads stay out at the target.
    process.kill(tgtd.pid, "SIGSTOP");
    const slots = [
      sim.submit({ cdb: read10(0, 8), dir: Dir.Read, length: 4096 }),
      sim.submit({ cdb: read10(64, 8), dir: Dir.Read, length: 4096 }),
    ];
    sim.notify();
    while (server.busy < 2) await Bun.sleep(5);
    const failuresBefore = sim.connection.stats().transportFailures;
    const removing = sim.connection.unserve(0);
    await Bun.sleep(300);
    expect(ring.isShutdown).toBe(true);
    // The ring failed the submits at once, but the session may still place Data-In into these windows.
    expect(sim.doneMask() & slots.reduce((m, s) => m | (1n << BigInt(s)), 0n)).toBe(0n);
    expect(server.busy).toBe(2);
    await removing; // the session gave the reads up (NOP timeout, then the replacement timeout)
    expect(server.busy).toBe(0);
    await sim.waitDone(slots);
    for (const slot of slots) expect(sim.finish(slot)).toMatchObject({ transportFailed: true, bytes: 0 });
    expect(sim.connection.stats().transportFailures - failuresBefore).toBe(2);
    // Nothing serves target 0 now: a new task is refused at once.
    const [late] = await sim.run([{ cdb: testUnitReady(), dir: Dir.None, length: 0 }]);
    expect({ failed: late!.transportFailed, refusal: late!.refusal }).toEqual({
      failed: true,
      refusal: REFUSED.noTarget,
    });
  }, 90_000);
});
