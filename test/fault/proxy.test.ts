// The fault proxy in front of a real tgtd, each fault proven with our engine where no recovery is needed
// (recovery off: a lost connection fails the session). Positions are counted from when a fault is armed.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { Session } from "../../src/session/session.ts";
import { LogicalUnit } from "../../src/session/logical-unit.ts";
import { readCdb, testUnitReady, writeCdb } from "../../src/scsi/index.ts";
import type { OperationalProposal } from "../../src/login/keys.ts";
import { startTgtd, type TgtdTarget } from "../harness/tgtd.ts";
import { FaultProxy } from "./proxy.ts";
import { within } from "./outcome.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const INITIATOR = "iqn.2026-11.dev.iscsi:fault-test";

let tgtd: TgtdTarget;
let proxy: FaultProxy;
let second: FaultProxy | undefined;
const sessions: Session[] = [];

beforeAll(async () => {
  tgtd = await startTgtd({ luns: [{ sizeMiB: 16 }] });
});
afterAll(async () => {
  await tgtd?.stop();
});
afterEach(async () => {
  for (const s of sessions.splice(0)) s.close();
  await proxy?.stop();
  await second?.stop();
  second = undefined;
});

async function openVia(p: FaultProxy, proposal?: Partial<OperationalProposal>): Promise<LogicalUnit> {
  const session = await Session.open({
    portal: p.portal,
    login: {
      initiatorName: INITIATOR,
      targetName: tgtd.targets[0]!.iqn,
      sessionType: "Normal",
      auth: { method: "None" },
      ...(proposal ? { proposal } : {}),
    },
    // The faults here must surface as errors, not be repaired: no reinstatement, no pings, no command timeout.
    recovery: { enabled: false, nopIntervalMs: 0, commandTimeoutMs: 0 },
    loginTimeoutMs: 5_000,
  });
  sessions.push(session);
  const lu = new LogicalUnit(session, 1);
  await lu.testUnitReady();
  await lu.open();
  return lu;
}

async function start(): Promise<FaultProxy> {
  proxy = await FaultProxy.start({ host: "127.0.0.1", port: tgtd.port });
  return proxy;
}

function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** One READ(10) straight through execute(), into a buffer we can inspect afterwards. */
function rawRead(lu: LogicalUnit, bytes: number, buffer: Uint8Array) {
  const spec = readCdb({ lba: 0n, blocks: bytes / 512, blockSize: 512 });
  return lu.session.execute({
    lun: 1,
    cdb: spec.cdb,
    direction: "read",
    transferLength: bytes,
    buffer,
    name: spec.name,
  });
}

function rawWrite(lu: LogicalUnit, data: Uint8Array) {
  const spec = writeCdb({ lba: 0n, blocks: data.length / 512, blockSize: 512, fua: false });
  return lu.session.execute({
    lun: 1,
    cdb: spec.cdb,
    direction: "write",
    transferLength: data.length,
    data,
    name: spec.name,
  });
}

const tur = (lu: LogicalUnit) =>
  lu.session.execute({
    lun: 1,
    cdb: testUnitReady().cdb,
    direction: "none",
    transferLength: 0,
    name: "TEST UNIT READY",
  });

describe("pass-through", () => {
  test("4 MiB written and read back identical; both directions counted, nothing lost", async () => {
    const p = await start();
    const lu = await openVia(p);
    const data = pattern(4 * MiB, 1);
    await lu.write(0n, data);
    const back = await lu.read(0n, data.length / 512);
    expect(Buffer.compare(back, data)).toBe(0);
    expect(p.forwarded.up).toBeGreaterThan(4 * MiB);
    expect(p.forwarded.down).toBeGreaterThan(4 * MiB);
    expect(p.forwarded).toEqual(p.received);
    expect(p.links.length).toBe(1);
    expect(p.links[0]!.forwarded).toEqual(p.links[0]!.received);
  });
});

describe("delay", () => {
  test("30 ms per chunk each way: round trips slow down and 1 MiB still verifies", async () => {
    const p = await start();
    const lu = await openVia(p);
    p.delay("both", 30);
    const started = performance.now();
    await tur(lu);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    const data = pattern(MiB, 2);
    await lu.write(0n, data);
    expect(Buffer.compare(await lu.read(0n, data.length / 512), data)).toBe(0);
    p.delay("both", 0);
    const fast = performance.now();
    await tur(lu);
    expect(performance.now() - fast).toBeLessThan(30);
  });
});

describe("cut", () => {
  for (const how of ["fin", "rst"] as const) {
    test(`mid-read with ${how.toUpperCase()}: the read rejects with TRANSPORT, never resolves with data`, async () => {
      const p = await start();
      const lu = await openVia(p);
      const before = p.links[0]!.forwarded.down;
      p.cut("down", { after: 256 * KiB, how });
      const buffer = new Uint8Array(4 * MiB).fill(0xee);
      const outcome = await within(rawRead(lu, 4 * MiB, buffer), 5_000);
      expect(outcome.state).toBe("rejected");
      if (outcome.state === "rejected") expect(outcome.error.code).toBe("TRANSPORT");
      expect(lu.session.state.kind).toBe("failed");
      // The initiator was handed exactly the bytes before the cut (with FIN; an RST may lose some in flight).
      const got = p.links[0]!.forwarded.down - before;
      if (how === "fin") expect(got).toBe(256 * KiB);
      else expect(got).toBeLessThanOrEqual(256 * KiB);
      expect(p.links[0]!.open).toBe(false);
    });
  }

  test("mid-write: the write rejects with TRANSPORT", async () => {
    const p = await start();
    const lu = await openVia(p);
    p.cut("up", { after: 300 * KiB });
    const outcome = await within(rawWrite(lu, pattern(2 * MiB, 3)), 5_000);
    expect(outcome.state).toBe("rejected");
    if (outcome.state === "rejected") expect(outcome.error.code).toBe("TRANSPORT");
  });

  test("during login, either direction: the open fails with TRANSPORT at once instead of hanging", async () => {
    const p = await start();
    p.cut("up", { at: 100 });
    const started = performance.now();
    await expect(openVia(p)).rejects.toMatchObject({ code: "TRANSPORT" });
    p.clear();
    p.cut("down", { at: 30, how: "rst" });
    await expect(openVia(p)).rejects.toMatchObject({ code: "TRANSPORT" });
    expect(performance.now() - started).toBeLessThan(3_000);
    p.clear();
    await openVia(p); // the target is fine: a clean link logs in
  });

  test("`once` fires on one link only", async () => {
    const p = await start();
    p.cut("down", { at: 10, once: true });
    await expect(openVia(p)).rejects.toMatchObject({ code: "TRANSPORT" });
    const lu = await openVia(p);
    await tur(lu);
    expect(p.links.length).toBe(2);
  });
});

describe("corrupt", () => {
  const digests: Partial<OperationalProposal> = { headerDigest: ["CRC32C"], dataDigest: ["CRC32C"] };

  test("a data byte with DataDigest on: DIGEST error, no byte of the corrupted PDU reaches the buffer", async () => {
    const p = await start();
    const lu = await openVia(p, digests);
    expect(lu.session.negotiated.dataDigest).toBe(true);
    await lu.write(0n, pattern(64 * KiB, 4));
    // First Data-In of the read: 48-byte BHS + 4-byte header digest, then data; hit data byte 100.
    p.corrupt("down", { after: 52 + 100, mask: 0x01 });
    const buffer = new Uint8Array(64 * KiB).fill(0xee);
    const outcome = await within(rawRead(lu, 64 * KiB, buffer), 5_000);
    expect(outcome.state).toBe("rejected");
    if (outcome.state === "rejected") {
      expect(outcome.error.code).toBe("DIGEST");
      expect(outcome.error.message).toMatch(/data digest mismatch/);
    }
    expect(buffer.every((b) => b === 0xee)).toBe(true);
  });

  test("a header byte with HeaderDigest on: DIGEST error naming the header digest", async () => {
    const p = await start();
    const lu = await openVia(p, digests);
    p.corrupt("down", { after: 20 });
    const outcome = await within(tur(lu), 5_000);
    expect(outcome.state).toBe("rejected");
    if (outcome.state === "rejected") expect(outcome.error.message).toMatch(/header digest mismatch/);
  });

  test("without digests, a flipped opcode is still refused as a PROTOCOL error", async () => {
    const p = await start();
    const lu = await openVia(p);
    p.corrupt("down", { after: 0, mask: 0x3f }); // SCSI Response 0x21 → 0x1e, a reserved opcode
    const outcome = await within(tur(lu), 5_000);
    expect(outcome.state).toBe("rejected");
    if (outcome.state === "rejected") {
      expect(outcome.error.code).toBe("PROTOCOL");
      expect(outcome.error.message).toMatch(/opcode 0x1e/);
    }
  });
});

describe("stall (half-open: no FIN, no RST)", () => {
  for (const dir of ["down", "up"] as const) {
    test(`${dir}: an unanswered command stays pending, never succeeds, and close() rejects it`, async () => {
      const p = await start();
      const lu = await openVia(p);
      p.stall(dir);
      const forwarded = { ...p.forwarded };
      const pending = tur(lu);
      const outcome = await within(pending, 2_000);
      expect(outcome.state).toBe("pending");
      expect(p.links[0]!.open).toBe(true);
      expect(p.forwarded[dir]).toBe(forwarded[dir]);
      lu.session.close();
      const after = await within(pending, 1_000);
      expect(after.state).toBe("rejected");
      if (after.state === "rejected") expect(after.error.code).toBe("ABORTED");
    });
  }

  test("resume: what was held goes through and the command completes", async () => {
    const p = await start();
    const lu = await openVia(p);
    p.stall("down");
    const pending = tur(lu);
    expect((await within(pending, 300)).state).toBe("pending");
    p.resume();
    const outcome = await within(pending, 2_000);
    expect(outcome.state).toBe("resolved");
    if (outcome.state === "resolved") expect(outcome.value.status).toBe(0);
  });

  test("stalling the upload mid-write: nothing more reaches the target, resume completes the write intact", async () => {
    const p = await start();
    const lu = await openVia(p);
    const data = pattern(8 * MiB, 5);
    const base = p.forwarded.up;
    const pending = rawWrite(lu, data);
    await p.waitFor("up", base + MiB);
    p.stall("up");
    await Bun.sleep(20); // let what was already read drain through
    const held = p.forwarded.up;
    expect((await within(pending, 500)).state).toBe("pending");
    expect(p.forwarded.up).toBe(held);
    expect(held - base).toBeLessThan(data.length);
    p.resume();
    const outcome = await within(pending, 10_000);
    expect(outcome.state).toBe("resolved");
    expect(Buffer.compare(await lu.read(0n, data.length / 512), data)).toBe(0);
  });
});

describe("drop and refuse", () => {
  test("dropAll with RST: the outstanding command rejects with TRANSPORT", async () => {
    const p = await start();
    const lu = await openVia(p);
    p.stall("down");
    const pending = tur(lu);
    await Bun.sleep(50);
    p.dropAll("rst");
    const outcome = await within(pending, 2_000);
    expect(outcome.state).toBe("rejected");
    if (outcome.state === "rejected") expect(outcome.error.code).toBe("TRANSPORT");
  });

  test("refuse: a new login gets connection refused; accept: it works again; the live link is untouched", async () => {
    const p = await start();
    const lu = await openVia(p);
    p.refuse();
    await expect(openVia(p)).rejects.toMatchObject({ code: "TRANSPORT" });
    await tur(lu);
    p.accept();
    await tur(await openVia(p));
  });
});

describe("isolation (case 93)", () => {
  test("a stalled session does not hold up another: 2 MiB verified on B while A's command hangs", async () => {
    const a = await start();
    second = await FaultProxy.start({ host: "127.0.0.1", port: tgtd.port });
    const luA = await openVia(a);
    const luB = await openVia(second);
    a.stall("both");
    const hanging = tur(luA);
    const data = pattern(2 * MiB, 6);
    await luB.write(0n, data);
    expect(Buffer.compare(await luB.read(0n, data.length / 512), data)).toBe(0);
    expect((await within(hanging, 10)).state).toBe("pending");
    luA.session.close();
    expect((await within(hanging, 500)).state).toBe("rejected");
    expect(luB.session.state.kind).toBe("full-feature");
  });
});
