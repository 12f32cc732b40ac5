// The benchmark null target (bench/null-target): libiscsi's iscsi-perf, qemu-img and our engine log in, read
// zeros and write through it (immediate, unsolicited and R2T-solicited data), discovery answers, and a
// malformed PDU closes only the connection that sent it while the target keeps serving the others.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { read16 } from "../../src/scsi/cdb.ts";
import { encodeLoginRequest } from "../../src/pdu/login.ts";
import { encodeTextKeys } from "../../src/pdu/text.ts";
import { ScsiStatusError } from "../../src/scsi/index.ts";
import { runTool } from "../harness/processes.ts";
import { NULL_TARGET_BYTES, NULL_TARGET_IQN, startNullTarget, type NullTarget } from "../harness/null-target.ts";
import { openLu, randomData } from "../interop/_util.ts";

let t: NullTarget;
beforeAll(async () => {
  t = await startNullTarget();
});
afterAll(async () => {
  await t?.stop();
});

/**
 * Sends raw bytes on a new connection and resolves with what came back once the target closes it, or after
 * `timeoutMs`, or (with `enough`) 50 ms after that many bytes came.
 */
function rawExchange(
  bytes: Uint8Array,
  timeoutMs = 5000,
  enough = Infinity,
): Promise<{ closed: boolean; received: number }> {
  return new Promise((resolve) => {
    let received = 0;
    const s = connect(t.port, "127.0.0.1", () => s.write(bytes));
    const giveUp = () => {
      s.destroy();
      resolve({ closed: false, received });
    };
    let timer = setTimeout(giveUp, timeoutMs);
    s.on("data", (d) => {
      received += d.length;
      if (received >= enough) clearTimeout(timer), (timer = setTimeout(giveUp, 50));
    });
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ closed: true, received });
    });
  });
}

/** A leading login PDU that takes the connection straight to full feature phase (no authentication). */
function loginPdu(): Uint8Array {
  const keys = encodeTextKeys([
    ["InitiatorName", "iqn.2026-12.dev.iscsi:fuzz"],
    ["TargetName", NULL_TARGET_IQN],
    ["SessionType", "Normal"],
    ["MaxRecvDataSegmentLength", "65536"],
  ]);
  const padded = (keys.length + 3) & ~3;
  const out = new Uint8Array(48 + padded);
  encodeLoginRequest(
    {
      immediate: true,
      totalAHSLength: 0,
      dataSegmentLength: keys.length,
      transit: true,
      continue: false,
      csg: 1,
      nsg: 3,
      versionMax: 0,
      versionMin: 0,
      isid: 0x80_0000_0001,
      tsih: 0,
      itt: 1,
      cid: 0,
      cmdSN: 1,
      expStatSN: 0,
    },
    out,
  );
  out.set(keys, 48);
  return out;
}

/** xorshift: the same "random" PDUs for a seed, so a failure can be replayed. */
function* randomBytes(seed: number): Generator<number> {
  let x = seed >>> 0 || 1;
  for (;;) {
    (x ^= x << 13), (x >>>= 0), (x ^= x >>> 17), (x ^= x << 5), (x >>>= 0);
    yield x & 0xff;
  }
}

describe("null target", () => {
  test("discovery (iscsi-ls) lists the one target and its 1 TiB LUN 0", async () => {
    const r = await runTool(["iscsi-ls", "-s", `iscsi://${t.portal}`], { timeoutMs: 20_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`Target:${NULL_TARGET_IQN} Portal:${t.portal},1`);
    expect(r.stdout).toMatch(/Lun:0\s+Type:DIRECT_ACCESS/);
  });

  test("iscsi-perf reads 1 MiB blocks at QD8", async () => {
    const r = await runTool(["iscsi-perf", "-m", "8", "-b", "2048", t.url], {
      timeoutMs: 20_000,
      stopWhen: (out) => (out.match(/iops current/g) ?? []).length >= 2,
    });
    const iops = [...r.stdout.matchAll(/iops current (\d+)/g)].map((m) => Number(m[1]));
    expect(iops.length).toBeGreaterThanOrEqual(2);
    expect(iops[1]).toBeGreaterThan(0);
  });

  for (const write of [false, true]) {
    test(`qemu-img bench ${write ? "writes" : "reads"} 200 × 1 MiB at QD16`, async () => {
      const argv = [
        "qemu-img",
        "bench",
        "-f",
        "raw",
        "-t",
        "none",
        ...(write ? ["-w"] : []),
        "-c",
        "200",
        "-d",
        "16",
        "-s",
        "1M",
        t.url,
      ];
      const r = await runTool(argv, { timeoutMs: 60_000 });
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(/Run completed in [\d.]+ seconds/);
    });
  }

  test("our engine writes with immediate, unsolicited and R2T data and reads zeros back", async () => {
    // A small FirstBurstLength and MaxBurstLength make a 4 MiB write take every path: immediate data,
    // unsolicited Data-Out, then R2Ts each asking for one burst.
    const lu = await openLu(t.port, NULL_TARGET_IQN, 0, {
      proposal: { firstBurstLength: 65536, maxBurstLength: 262144 },
    });
    try {
      expect(lu.capacity!.bytes).toBe(BigInt(NULL_TARGET_BYTES));
      const n = lu.session.negotiated;
      expect([n.immediateData, n.initialR2T, n.firstBurstLength, n.maxBurstLength]).toEqual([
        true,
        false,
        65536,
        262144,
      ]);
      const data = randomData(4 << 20);
      await lu.write(1000n, data);
      await lu.write(0n, data.subarray(0, 4096));
      const back = await lu.read(1000n, data.length / 512);
      expect(back.length).toBe(data.length);
      expect(back.every((b) => b === 0)).toBe(true);
      const last = lu.capacity!.blocks - 1n;
      expect((await lu.read(last, 1)).length).toBe(512);
      // Past the end, sent raw (LogicalUnit.read checks the range itself): ILLEGAL REQUEST, LBA out of range.
      const err = await lu.run(read16({ lba: last, blocks: 2, blockSize: 512 })).catch((e) => e);
      expect(err).toBeInstanceOf(ScsiStatusError);
      expect([err.sense?.senseKey, err.sense?.asc]).toEqual([5, 0x21]);
      await lu.synchronizeCache();
    } finally {
      await lu.session.logout();
    }
  });

  test("MC/S: a second connection joins the session by ISID and TSIH; I/O completes with both open", async () => {
    const lu = await openLu(t.port, NULL_TARGET_IQN, 0, { proposal: { maxConnections: 2 } });
    try {
      expect(lu.session.negotiated.maxConnections).toBe(2);
      expect(lu.session.connections.extra).toHaveLength(1);
      const data = randomData(1 << 20);
      await Promise.all(Array.from({ length: 8 }, (_, i) => lu.write(BigInt(i * 2048), data)));
      const back = await Promise.all(Array.from({ length: 8 }, (_, i) => lu.read(BigInt(i * 2048), 2048)));
      expect(back.every((b) => b.length === 1 << 20 && b.every((x) => x === 0))).toBe(true);
    } finally {
      await lu.session.logout();
    }
  });

  test("200 logged-in connections that send random headers and bytes leave the target serving (seeded)", async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 19);
    const rnd = randomBytes(seed);
    const login = loginPdu();
    for (let i = 0; i < 200; i++) {
      // A valid login, then one random BHS (opcode from the initiator set, random fields and lengths) and random tail bytes.
      const junk = new Uint8Array(48 + (rnd.next().value as number) * 4);
      for (let j = 0; j < junk.length; j++) junk[j] = rnd.next().value as number;
      junk[0] = [0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x10, 0x41, 0x03][junk[0]! % 9]!;
      const bytes = new Uint8Array(login.length + junk.length);
      bytes.set(login);
      bytes.set(junk, login.length);
      const r = await rawExchange(bytes, 10_000, 48);
      // The login answer always comes; what follows may be answered, refused or dropped, never a crash.
      expect(r.received).toBeGreaterThanOrEqual(48);
    }
    expect(process.kill(t.pid, 0)).toBe(true);
    const r = await runTool(["iscsi-inq", t.url], { timeoutMs: 20_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("DIRECT_ACCESS");
  });

  test("a PDU longer than declared, or a command before login, closes that connection only", async () => {
    const oversized = new Uint8Array(48);
    oversized[0] = 0x43; // Login Request, immediate
    oversized[5] = oversized[6] = oversized[7] = 0xff; // DataSegmentLength 16 MiB - 1: above the 8 KiB of login
    const early = new Uint8Array(48);
    early[0] = 0x01; // SCSI Command before any login
    const lu = await openLu(t.port, NULL_TARGET_IQN, 0);
    try {
      for (const bytes of [oversized, early]) {
        const r = await rawExchange(bytes);
        expect(r).toEqual({ closed: true, received: 0 });
      }
      expect(t.log()).toContain("DataSegmentLength 16777215 exceeds the 8192 we declared");
      expect(t.log()).toContain("opcode 0x01 before login completed");
      // The session that was open before is untouched and the target still takes new ones.
      expect((await lu.read(0n, 8)).length).toBe(4096);
      const r = await runTool(["iscsi-inq", t.url], { timeoutMs: 20_000 });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain("DIRECT_ACCESS");
    } finally {
      await lu.session.logout();
    }
  });
});
