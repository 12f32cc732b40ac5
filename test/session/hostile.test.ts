// A hostile target at the byte level in full feature phase, over an in-memory pipe (docs/reliability.md, cases
// 1–6, 10, 68, 76–82): truncated PDUs then FIN/RST, lengths far beyond what we declared, AHS and initiator
// opcodes from a target, wrong digests, odd padding, Async Messages 0–4, Rejects, NOP-In floods (login: see
// hostile-login.test.ts). Each must end in a clear error naming the field, with no crash, no unhandled rejection,
// no success for the command, bounded memory.
// Recovery is off: these tests check detection; what recovery does afterwards is tested elsewhere.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import {
  crc32c,
  encodeDataIn,
  encodeLoginResponse,
  encodeNopIn,
  encodeScsiCommand,
  Opcode,
  RESERVED_TAG,
  writeDigest,
  type Frame,
  type NopOut,
  type ScsiCommand,
} from "../../src/pdu/index.ts";
import type { OperationalProposal } from "../../src/login/keys.ts";
import { Session } from "../../src/session/session.ts";
import type { ScsiTask } from "../../src/session/task.ts";
import {
  FakeTarget,
  setDataSegmentLength,
  setOpcode,
  type FakeConnection,
  type FakeTargetOptions,
} from "../fake/target.ts";
import { expectRejected, UnhandledWatch, within } from "../fault/outcome.ts";

const watch = new UnhandledWatch();
let target: FakeTarget | undefined;
let session: Session | undefined;

beforeAll(() => watch.start());
afterAll(() => watch.stop());
afterEach(async () => {
  session?.close();
  target?.stop();
  session = target = undefined;
  await Bun.sleep(5);
  expect(watch.messages).toEqual([]);
});

const LOGIN = {
  initiatorName: "iqn.2026-11.dev.iscsi:hostile",
  targetName: "iqn.2026-11.test:fake",
  sessionType: "Normal" as const,
  auth: { method: "None" as const },
};
const DIGESTS: Partial<OperationalProposal> = { headerDigest: ["CRC32C"], dataDigest: ["CRC32C"] };

/** The fake on an in-memory pipe, or on TCP where the question is about a byte stream (`tcp`). */
function listen(opts: FakeTargetOptions, tcp = false): FakeTarget {
  target?.stop();
  target = tcp ? FakeTarget.listen(opts) : FakeTarget.inMemory(opts);
  return target;
}

function connect(t: FakeTarget, proposal?: Partial<OperationalProposal>): Promise<Session> {
  return Session.open({
    ...t.endpoint,
    login: { ...LOGIN, ...(proposal ? { proposal } : {}) },
    recovery: { enabled: false, nopIntervalMs: 0, commandTimeoutMs: 0 },
    loginTimeoutMs: 3_000,
  });
}

/** A fake whose answer to each SCSI Command is `script`, and a logged-in session to it. */
async function open(
  script: (c: FakeConnection, cmd: ScsiCommand) => void,
  opts: FakeTargetOptions = {},
  proposal?: Partial<OperationalProposal>,
  tcp = false,
): Promise<Session> {
  const t = listen(
    {
      ...opts,
      onPdu(c, f) {
        if (f.pdu.opcode !== Opcode.ScsiCommand) return opts.onPdu?.(c, f);
        c.ack(f.pdu as ScsiCommand);
        script(c, f.pdu as ScsiCommand);
      },
    },
    tcp,
  );
  session = await connect(t, proposal);
  return session;
}

const read = (len: number, buffer?: Uint8Array): ScsiTask => ({
  lun: 0,
  cdb: new Uint8Array([0x28, 0, 0, 0, 0, 0, 0, 0, len / 512, 0]),
  direction: "read",
  transferLength: len,
  name: "READ(10)",
  ...(buffer ? { buffer } : {}),
});
const tur = (): ScsiTask => ({
  lun: 0,
  cdb: new Uint8Array(6),
  direction: "none",
  transferLength: 0,
  name: "TEST UNIT READY",
});

/** The BHS of a Data-In carrying `len` bytes with status GOOD. */
const dataInBhs = (c: FakeConnection, cmd: ScsiCommand, len: number) =>
  encodeDataIn({
    final: true,
    acknowledge: false,
    residualOverflow: false,
    residualUnderflow: false,
    statusPresent: true,
    status: 0,
    lun: 0n,
    itt: cmd.itt,
    ttt: RESERVED_TAG,
    ...c.status(),
    dataSN: 0,
    bufferOffset: 0,
    residualCount: 0,
    dataSegmentLength: len,
  });

const nopInBhs = (c: FakeConnection) => encodeNopIn({ lun: 0n, itt: RESERVED_TAG, ttt: RESERVED_TAG, ...c.seq() });

describe("truncated PDUs (case 6)", () => {
  // BHS, header digest, 6 data bytes, 2 padding bytes, data digest: 64 bytes, cut after each of 1..63.
  for (const how of ["FIN", "RST"] as const) {
    test(`a Data-In with digests cut at every byte offset then ${how}: TRANSPORT, nothing delivered, never success`, async () => {
      const opts = { answers: { HeaderDigest: "CRC32C", DataDigest: "CRC32C" } };
      for (let cut = 1; cut < 64; cut++) {
        const s = await open(
          (c, cmd) => {
            const bytes = c.wire(dataInBhs(c, cmd, 6), new Uint8Array(6).fill(0x42));
            if (bytes.length !== 64) throw new Error(`expected a 64-byte PDU, got ${bytes.length}`);
            if (how === "FIN") c.truncated(bytes, cut);
            else {
              c.raw(bytes.subarray(0, cut));
              setTimeout(() => c.reset(), 10);
            }
          },
          opts,
          DIGESTS,
        );
        const buffer = new Uint8Array(512).fill(0xee);
        await expectRejected(
          s.execute(read(512, buffer)),
          "TRANSPORT",
          how === "FIN" ? /closed by the target/ : /reset|lost|closed/,
        );
        expect(buffer.every((b) => b === 0xee)).toBe(true);
        expect(s.state.kind).toBe("failed");
        s.close();
        target?.stop();
      }
    });
  }
});

describe("lengths beyond what we declared (cases 1, 2)", () => {
  test("DataSegmentLength 0xFFFFFF on a Data-In, then 16 MiB streamed: refused at the header, nothing of that size held", async () => {
    const junk = new Uint8Array(64 * 1024).fill(0x5a);
    let sentHeaderAt = 0;
    const s = await open(
      (c, cmd) => {
        c.raw(setDataSegmentLength(dataInBhs(c, cmd, 0), 0xffffff));
        sentHeaderAt = performance.now();
        for (let i = 0; i < 256; i++) c.raw(junk); // the same 64 KiB again and again: no memory on the fake's side
      },
      {},
      undefined,
      true,
    );
    Bun.gc(true);
    const rss = process.memoryUsage().rss;
    const p = s.execute(read(512));
    await expectRejected(p, "PROTOCOL", /Data-In: DataSegmentLength 16777215 > MaxRecvDataSegmentLength 262144/);
    expect(performance.now() - sentHeaderAt).toBeLessThan(1_000);
    await Bun.sleep(100);
    Bun.gc(true);
    expect(process.memoryUsage().rss - rss).toBeLessThan(8 * 1024 * 1024);
  });

  test("a Reject, Async Message or Text Response over 8192 bytes is refused even below MaxRecvDataSegmentLength", async () => {
    for (const opcode of [Opcode.Reject, Opcode.AsyncMessage, Opcode.TextResponse]) {
      const s = await open((c) => c.raw(setDataSegmentLength(setOpcode(nopInBhs(c), opcode), 9000)));
      await expectRejected(s.execute(tur()), "PROTOCOL", /DataSegmentLength 9000 > 8192/);
      s.close();
    }
  });
});

describe("PDUs a target may not send (cases 3, 5)", () => {
  test("an AHS on a target PDU is refused before it is read", async () => {
    const s = await open((c) => c.raw(c.wire(nopInBhs(c), undefined, new Uint8Array(8))));
    await expectRejected(s.execute(tur()), "PROTOCOL", /NOP-In: TotalAHSLength 2 != 0 from a target/);
  });

  test("every initiator opcode from the target is a protocol error naming the opcode", async () => {
    for (const op of [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10]) {
      const s = await open((c) => c.raw(setOpcode(nopInBhs(c), op)));
      await expectRejected(
        s.execute(tur()),
        "PROTOCOL",
        new RegExp(`opcode 0x${op.toString(16).padStart(2, "0")} is not one a target may send`),
      );
      s.close();
    }
  });

  test("reserved opcodes are refused", async () => {
    for (const op of [0x1f, 0x27, 0x3c]) {
      const s = await open((c) => c.raw(setOpcode(nopInBhs(c), op)));
      await expectRejected(s.execute(tur()), "PROTOCOL", new RegExp(`unknown opcode 0x${op.toString(16)}`));
      s.close();
    }
  });

  test("a Login Response in full feature phase is a protocol error", async () => {
    const s = await open((c, cmd) =>
      c.send(
        encodeLoginResponse({
          transit: true,
          continue: false,
          csg: 1,
          nsg: 3,
          versionMax: 0,
          versionActive: 0,
          isid: 0,
          tsih: 7,
          itt: cmd.itt,
          ...c.status(),
          statusClass: 0,
          statusDetail: 0,
        }),
      ),
    );
    await expectRejected(s.execute(tur()), "PROTOCOL", /Login Response in full feature phase/);
  });
});

describe("digests (case 4)", () => {
  const opts = { answers: { HeaderDigest: "CRC32C", DataDigest: "CRC32C" } };
  const flipAt = (bytes: Uint8Array, at: number) => {
    bytes[at < 0 ? bytes.length + at : at]! ^= 0x10;
    return bytes;
  };

  test("a wrong header digest: DIGEST error, the command fails, nothing delivered", async () => {
    const s = await open(
      (c, cmd) => c.raw(flipAt(c.wire(dataInBhs(c, cmd, 512), new Uint8Array(512).fill(1)), 48)),
      opts,
      DIGESTS,
    );
    expect(s.negotiated.headerDigest).toBe(true);
    const buffer = new Uint8Array(512).fill(0xee);
    await expectRejected(s.execute(read(512, buffer)), "DIGEST", /header digest mismatch/);
    expect(buffer.every((b) => b === 0xee)).toBe(true);
  });

  test("a header byte changed under a right-looking digest: DIGEST error before the header is trusted", async () => {
    const s = await open(
      (c, cmd) => c.raw(flipAt(c.wire(dataInBhs(c, cmd, 512), new Uint8Array(512)), 6)),
      opts,
      DIGESTS,
    );
    await expectRejected(s.execute(read(512)), "DIGEST", /header digest mismatch/);
  });

  test("a wrong data digest or a changed data byte: DIGEST error, no byte of it reaches the buffer", async () => {
    for (const at of [-1, 48 + 4 + 100]) {
      const s = await open(
        (c, cmd) => c.raw(flipAt(c.wire(dataInBhs(c, cmd, 512), new Uint8Array(512).fill(1)), at)),
        opts,
        DIGESTS,
      );
      const buffer = new Uint8Array(512).fill(0xee);
      await expectRejected(s.execute(read(512, buffer)), "DIGEST", /Data-In: data digest mismatch/);
      expect(buffer.every((b) => b === 0xee)).toBe(true);
      s.close();
    }
  });
});

describe("incoming padding (case 10)", () => {
  test("non-zero padding is tolerated (a SHOULD) and, with a data digest, covered by it", async () => {
    for (const digests of [false, true]) {
      const data = Uint8Array.of(1, 2, 3, 4, 5);
      const s = await open(
        (c, cmd) => {
          const bytes = c.wire(dataInBhs(c, cmd, 5), data);
          const padAt = 48 + (digests ? 4 : 0) + 5;
          bytes.fill(0xaa, padAt, padAt + 3);
          if (digests) writeDigest(bytes, padAt + 3, crc32c(bytes.subarray(padAt - 5, padAt + 3)));
          c.raw(bytes);
        },
        digests ? { answers: { HeaderDigest: "CRC32C", DataDigest: "CRC32C" } } : {},
        digests ? DIGESTS : undefined,
      );
      const r = await s.execute({ ...read(512), transferLength: 5, buffer: new Uint8Array(5) });
      expect([...r.data]).toEqual([1, 2, 3, 4, 5]);
      s.close();
    }
  });

  test("non-zero padding the data digest did not cover is a DIGEST error", async () => {
    const s = await open(
      (c, cmd) => {
        const bytes = c.wire(dataInBhs(c, cmd, 5), Uint8Array.of(1, 2, 3, 4, 5));
        bytes[48 + 4 + 5] = 0xaa;
        c.raw(bytes);
      },
      { answers: { HeaderDigest: "CRC32C", DataDigest: "CRC32C" } },
      DIGESTS,
    );
    await expectRejected(s.execute({ ...read(512), transferLength: 5 }), "DIGEST", /data digest mismatch/);
  });
});

describe("Asynchronous Messages (cases 79–82)", () => {
  /** A session whose target sends `send` right after the first command arrives and never answers it. */
  async function afterAsync(send: (c: FakeConnection) => void) {
    const s = await open((c) => send(c));
    const pending = s.execute(tur());
    return { s, pending };
  }

  test("event 0 with SenseLength beyond the data, and with no data: ignored safely, the session carries on", async () => {
    let n = 0;
    const s = await open((c, cmd) => {
      if (n++ === 0) {
        c.asyncMessage(0, {}, new Uint8Array([0xff, 0xff, 0x70, 0]));
        c.asyncMessage(0, {}, new Uint8Array([0x00]));
        c.asyncMessage(0);
      }
      c.good(cmd);
    });
    expect((await s.execute(tur())).status).toBe(0);
    expect((await s.execute(tur())).status).toBe(0);
    expect(s.state.kind).toBe("full-feature");
  });

  test("event 1 (logout requested, Parameter3 2 s): a Logout Request goes out in time; the unanswered command never succeeds", async () => {
    const { s, pending } = await afterAsync((c) => c.asyncMessage(1, { parameter3: 2 }));
    const outcome = await within(pending, 2_000);
    expect(outcome.state).not.toBe("resolved");
    const logout = target!.connections[0]!.received.find((f) => f.pdu.opcode === Opcode.LogoutRequest);
    expect(logout).toBeDefined();
    expect((logout!.pdu as { reasonCode: number }).reasonCode).toBe(0);
    s.close();
    expect((await within(pending, 500)).state).toBe("rejected");
  });

  for (const event of [2, 3]) {
    test(`event ${event} (drop) with Time2Wait 65535, then the target drops: TRANSPORT, not success`, async () => {
      const { pending } = await afterAsync((c) => {
        c.asyncMessage(event, { parameter1: 0, parameter2: 65535, parameter3: 65535 });
        setTimeout(() => c.close(), 20);
      });
      await expectRejected(pending, "TRANSPORT", /closed by the target/);
    });
  }

  test("event 4 (renegotiate), 255 (vendor) and unknown 9: no crash, the session still answers", async () => {
    let n = 0;
    const s = await open((c, cmd) => {
      if (n++ === 0) for (const e of [4, 255, 9]) c.asyncMessage(e, { parameter3: 1 });
      c.good(cmd);
    });
    expect((await s.execute(tur())).status).toBe(0);
    expect((await s.execute(tur())).status).toBe(0);
  });
});

describe("Reject (case 68)", () => {
  const headerOf = (cmd: ScsiCommand) => encodeScsiCommand({ ...cmd, cdb: cmd.cdb });

  test("carrying our command's header: that command fails naming the reason, the session stays usable", async () => {
    let n = 0;
    const s = await open((c, cmd) => (n++ === 0 ? c.reject(0x09, headerOf(cmd)) : c.good(cmd)));
    await expectRejected(s.execute(tur()), "PROTOCOL", /target rejected a PDU \(opcode 0x1\): invalid PDU field/);
    expect(s.state.kind).toBe("full-feature");
    expect((await s.execute(tur())).status).toBe(0);
  });

  test("naming a task we do not have: logged, nothing fails", async () => {
    let n = 0;
    const s = await open((c, cmd) => {
      if (n++ === 0) c.reject(0x04, headerOf({ ...cmd, itt: 0x00abcdef }));
      c.good(cmd);
    });
    expect((await s.execute(tur())).status).toBe(0);
    expect((await s.execute(tur())).status).toBe(0);
  });

  test("with fewer than 48 bytes of header: protocol error, the command never succeeds", async () => {
    const s = await open((c) => c.reject(0x04, new Uint8Array(20)));
    await expectRejected(s.execute(tur()), "PROTOCOL", /Reject \(protocol error\) without the rejected header/);
  });

  test("0x06 on our NOP-Out ping: the ping fails, the session stays", async () => {
    const t = listen({
      onPdu(c, f) {
        if (f.pdu.opcode === Opcode.NopOut) c.reject(0x06, f.bhs.slice());
        if (f.pdu.opcode === Opcode.ScsiCommand) c.ack(f.pdu as ScsiCommand), c.good(f.pdu as ScsiCommand);
      },
    });
    session = await connect(t);
    await expectRejected(session.requests.ping(1_000), "PROTOCOL", /immediate command reject/);
    expect(session.state.kind).toBe("full-feature");
    expect((await session.execute(tur())).status).toBe(0);
  });
});

describe("NOP-In (cases 76–78)", () => {
  test("a flood of 5 000 pings is answered one for one with the target's TTT and LUN; I/O goes on; memory bounded", async () => {
    const t = listen({
      onPdu(c, f) {
        if (f.pdu.opcode === Opcode.ScsiCommand) c.ack(f.pdu as ScsiCommand), c.good(f.pdu as ScsiCommand);
      },
    });
    session = await connect(t);
    const c = t.connections[0]!;
    Bun.gc(true);
    const rss = process.memoryUsage().rss;
    for (let i = 0; i < 5_000; i++)
      c.send(encodeNopIn({ lun: 0x0001000000000000n, itt: RESERVED_TAG, ttt: 0x1000 + i, ...c.seq() }));
    expect((await session.execute(tur())).status).toBe(0);
    const deadline = performance.now() + 5_000;
    const answers = () => c.received.filter((f) => f.pdu.opcode === Opcode.NopOut) as Array<Frame<NopOut>>;
    while (answers().length < 5_000 && performance.now() < deadline) await Bun.sleep(10);
    const got = answers();
    expect(got.length).toBe(5_000);
    expect(
      got.every(
        (f, i) =>
          f.pdu.ttt === 0x1000 + i &&
          f.pdu.itt === RESERVED_TAG &&
          f.pdu.lun === 0x0001000000000000n &&
          f.pdu.immediate,
      ),
    ).toBe(true);
    Bun.gc(true);
    expect(process.memoryUsage().rss - rss).toBeLessThan(32 * 1024 * 1024);
  });

  test("pings with TTT 0xffffffff are never answered", async () => {
    const t = listen({
      onPdu(c, f) {
        if (f.pdu.opcode === Opcode.ScsiCommand) c.ack(f.pdu as ScsiCommand), c.good(f.pdu as ScsiCommand);
      },
    });
    session = await connect(t);
    const c = t.connections[0]!;
    for (let i = 0; i < 1_000; i++) c.send(nopInBhs(c));
    expect((await session.execute(tur())).status).toBe(0);
    await Bun.sleep(50);
    expect(c.received.filter((f) => f.pdu.opcode === Opcode.NopOut).length).toBe(0);
  });

  test("a NOP-In answering a ping we never sent (unknown ITT) is a protocol error", async () => {
    const s = await open((c) => c.send(encodeNopIn({ lun: 0n, itt: 0x00badbad, ttt: RESERVED_TAG, ...c.status() })));
    await expectRejected(s.execute(tur()), "PROTOCOL", /NOP-In for unknown ITT 0xbadbad/);
  });
});
