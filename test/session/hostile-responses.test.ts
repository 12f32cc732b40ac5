// Hostile answers to one command, well framed but wrong (docs/reliability.md, Data-In, R2T, SCSI Response,
// tags; cases 14, 15, 43, 46, 47, 49, 50): each must fail the command (never resolve it as success), name the
// field, send no byte the target did not ask for, and leave no unhandled rejection. Recovery is off.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import {
  encodeLogoutResponse,
  encodeNopIn,
  encodeR2T,
  encodeTaskMgmtResponse,
  encodeTextResponse,
  Opcode,
  RESERVED_TAG,
  type DataOut,
  type ScsiCommand,
} from "../../src/pdu/index.ts";
import { Session } from "../../src/session/session.ts";
import { LogicalUnit } from "../../src/session/logical-unit.ts";
import type { ScsiTask } from "../../src/session/task.ts";
import { FakeTarget, type FakeConnection } from "../fake/target.ts";
import { settle } from "../support/clock.ts";
import { UnhandledWatch, within } from "../fault/outcome.ts";

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

interface Wire {
  dataOut: DataOut[];
}

/** Session to a fake that answers each SCSI Command with `script`; Data-Out PDUs it receives are collected. */
async function open(
  script: (c: FakeConnection, cmd: ScsiCommand) => void,
  answers: Record<string, string> = {},
): Promise<{ s: Session; wire: Wire }> {
  const wire: Wire = { dataOut: [] };
  target = FakeTarget.inMemory({
    answers: { ImmediateData: "No", InitialR2T: "Yes", ...answers },
    onPdu(c, f) {
      if (f.pdu.opcode === Opcode.DataOut) wire.dataOut.push(f.pdu as DataOut);
      if (f.pdu.opcode !== Opcode.ScsiCommand) return;
      c.ack(f.pdu as ScsiCommand);
      script(c, f.pdu as ScsiCommand);
    },
  });
  session = await Session.open({
    ...target.endpoint,
    login: {
      initiatorName: "iqn.2026-11.dev.iscsi:hostile",
      targetName: "iqn.2026-11.test:fake",
      sessionType: "Normal",
      auth: { method: "None" },
    },
    recovery: { enabled: false, nopIntervalMs: 0, commandTimeoutMs: 0 },
  });
  return { s: session, wire };
}

const read = (len: number): ScsiTask => ({
  lun: 0,
  cdb: new Uint8Array([0x28, 0, 0, 0, 0, 0, 0, 0, len / 512, 0]),
  direction: "read",
  transferLength: len,
  name: "READ(10)",
});
const write = (len: number): ScsiTask => ({
  lun: 0,
  cdb: new Uint8Array([0x2a, 0, 0, 0, 0, 0, 0, 0, len / 512, 0]),
  direction: "write",
  transferLength: len,
  data: new Uint8Array(len).fill(0x77),
  name: "WRITE(10)",
});
const none = (): ScsiTask => ({
  lun: 0,
  cdb: new Uint8Array(6),
  direction: "none",
  transferLength: 0,
  name: "TEST UNIT READY",
});

async function expectFailure(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const outcome = await within(p, 3_000);
  expect(outcome.state).toBe("rejected");
  if (outcome.state !== "rejected") return;
  expect(outcome.error.code).toBe(code);
  expect(outcome.error.message).toMatch(message);
}

describe("R2T (cases 42, 43)", () => {
  const cases: Array<[string, (c: FakeConnection, cmd: ScsiCommand) => void, RegExp, ScsiTask?]> = [
    ["for a READ", (c, cmd) => c.r2t(cmd, 0, 0, 512), /the command is not a write/, read(512)],
    ["with length 0", (c, cmd) => c.r2t(cmd, 0, 0, 0), /Desired Data Transfer Length is 0/],
    ["with TTT 0xffffffff", (c, cmd) => c.r2t(cmd, 0, 0, 512, RESERVED_TAG), /TTT is the reserved value/],
    ["with an R2TSN gap", (c, cmd) => c.r2t(cmd, 1, 0, 512), /R2TSN 1, expected 0/],
    [
      "carrying a data segment",
      (c, cmd) =>
        c.send(
          encodeR2T({
            lun: 0n,
            itt: cmd.itt,
            ttt: 5,
            ...c.seq(),
            r2tSN: 0,
            bufferOffset: 0,
            desiredDataTransferLength: 512,
            dataSegmentLength: 4,
          }),
          new Uint8Array(4),
        ),
      /R2T: DataSegmentLength 4 != 0/,
    ],
    ["one byte past the buffer", (c, cmd) => c.r2t(cmd, 0, 512, 4096 - 511), /exceeds the 4096 bytes/],
    [
      "for a task we do not have",
      (c, cmd) => c.r2t({ ...cmd, itt: 0x00777777 }, 0, 0, 512),
      /R2T for unknown ITT 0x777777/,
    ],
  ];
  for (const [name, script, message, task] of cases) {
    test(`${name}: protocol error, no Data-Out sent`, async () => {
      const { s, wire } = await open(script);
      await expectFailure(s.execute(task ?? write(4096)), "PROTOCOL", message);
      await settle();
      expect(wire.dataOut).toEqual([]);
    });
  }

  test("Data-Out answers exactly the asked range and the TTT, from the caller's buffer", async () => {
    const data = new Uint8Array(4096).map((_, i) => (i * 13) & 0xff);
    const got: Array<{ offset: number; bytes: Uint8Array; ttt: number }> = [];
    let cmdOf: ScsiCommand | undefined;
    target = FakeTarget.inMemory({
      answers: { ImmediateData: "No", InitialR2T: "Yes" },
      onPdu(c, f) {
        if (f.pdu.opcode === Opcode.ScsiCommand) {
          cmdOf = f.pdu as ScsiCommand;
          c.ack(cmdOf);
          c.r2t(cmdOf, 0, 1024, 1000, 0x4242);
        } else if (f.pdu.opcode === Opcode.DataOut) {
          const d = f.pdu as DataOut;
          got.push({ offset: d.bufferOffset, bytes: f.data.slice(), ttt: d.ttt });
          if (d.final) c.good(cmdOf!, { residualUnderflow: true, residualCount: 4096 - 1000 });
        }
      },
    });
    session = await Session.open({
      ...target.endpoint,
      login: {
        initiatorName: "iqn.2026-11.dev.iscsi:hostile",
        targetName: "iqn.2026-11.test:fake",
        sessionType: "Normal",
        auth: { method: "None" },
      },
      recovery: { enabled: false, nopIntervalMs: 0, commandTimeoutMs: 0 },
    });
    const r = await session.execute({ ...write(4096), data });
    expect(r.residualUnderflow).toBe(3096);
    expect(got.map((g) => [g.offset, g.bytes.length, g.ttt])).toEqual([[1024, 1000, 0x4242]]);
    expect(got[0]!.bytes).toEqual(data.subarray(1024, 2024));
  });
});

describe("Data-In (cases 46, 47, 74)", () => {
  test("for a WRITE: protocol error", async () => {
    const { s } = await open((c, cmd) => c.dataIn(cmd, new Uint8Array(512), { statusPresent: true, final: true }));
    await expectFailure(s.execute(write(512)), "PROTOCOL", /which is not a read/);
  });

  test("S without F: protocol error", async () => {
    const { s } = await open((c, cmd) => c.dataIn(cmd, new Uint8Array(512), { statusPresent: true, final: false }));
    await expectFailure(s.execute(read(512)), "PROTOCOL", /S bit without the F bit/);
  });

  test("a DataSN repeated: protocol error", async () => {
    const { s } = await open((c, cmd) => {
      c.dataIn(cmd, new Uint8Array(512), { dataSN: 0 });
      c.dataIn(cmd, new Uint8Array(512), { dataSN: 0, bufferOffset: 512, statusPresent: true, final: true });
    });
    await expectFailure(s.execute(read(1024)), "PROTOCOL", /DataSN 0, expected 1/);
  });

  test("a BufferOffset that skips ahead: protocol error (DataPDUInOrder=Yes)", async () => {
    const { s } = await open((c, cmd) =>
      c.dataIn(cmd, new Uint8Array(512), { bufferOffset: 512, statusPresent: true, final: true }),
    );
    await expectFailure(s.execute(read(1024)), "PROTOCOL", /BufferOffset 512, expected 0/);
  });

  test("after the status: the command completes once with its data, the late Data-In is a protocol error", async () => {
    const { s } = await open((c, cmd) => {
      c.dataIn(cmd, new Uint8Array(512).fill(9), { statusPresent: true, final: true });
      c.dataIn(cmd, new Uint8Array(512).fill(0xbb), { dataSN: 1, statusPresent: true, final: true });
    });
    const r = await s.execute(read(512));
    expect(r.status).toBe(0);
    expect(r.data.every((b) => b === 9)).toBe(true);
    await settle();
    expect(s.state.kind).toBe("failed");
    expect(r.data.every((b) => b === 9)).toBe(true);
  });

  test("a residual underflow larger than the transfer: protocol error, not a short read", async () => {
    const { s } = await open((c, cmd) =>
      c.dataIn(cmd, new Uint8Array(512), {
        statusPresent: true,
        final: true,
        residualUnderflow: true,
        residualCount: 4096,
      }),
    );
    await expectFailure(s.execute(read(512)), "PROTOCOL", /residual underflow 4096 exceeds the transfer length 512/);
  });

  test("an overflow residual is reported as such, the data is what was asked for", async () => {
    const { s } = await open((c, cmd) =>
      c.dataIn(cmd, new Uint8Array(512).fill(3), {
        statusPresent: true,
        final: true,
        residualOverflow: true,
        residualCount: 512,
      }),
    );
    const r = await s.execute(read(512));
    expect(r.residualOverflow).toBe(512);
    expect(r.residualUnderflow).toBe(0);
    expect(r.data.length).toBe(512);
  });
});

describe("SCSI Response (cases 49, 50)", () => {
  test("Response 0x01 (target failure): outcome unknown, the status byte is not believed", async () => {
    const { s } = await open((c, cmd) => c.good(cmd, { response: 1, status: 0 }));
    await expectFailure(s.execute(none()), "OUTCOME_UNKNOWN", /target failure \(iSCSI response 0x1\)/);
    expect(s.state.kind).toBe("full-feature");
  });

  test("bidirectional residual flags on a unidirectional command: protocol error", async () => {
    const { s } = await open((c, cmd) => c.good(cmd, { bidiReadResidualUnderflow: true }));
    await expectFailure(s.execute(none()), "PROTOCOL", /bidirectional residual flags/);
  });

  test("CHECK CONDITION with a 1-byte data segment: the command fails as malformed, no out-of-bounds read", async () => {
    const { s } = await open((c, cmd) => c.good(cmd, { status: 2 }, new Uint8Array([0x00])));
    await expectFailure(s.execute(none()), "PROTOCOL", /malformed sense/);
    expect(s.state.kind).toBe("full-feature");
  });

  test("CHECK CONDITION with SenseLength 0xFFFF and 2 bytes of sense: malformed, never read past the data", async () => {
    const { s } = await open((c, cmd) => c.good(cmd, { status: 2 }, new Uint8Array([0xff, 0xff, 0x70, 0x00])));
    await expectFailure(s.execute(none()), "PROTOCOL", /malformed sense/);
  });

  test("a second response for the same task: the first one counts, exactly once; the second drops the connection", async () => {
    let cmds = 0;
    const { s } = await open((c, cmd) => {
      cmds++;
      c.good(cmd);
      c.good(cmd, { status: 0x18 });
    });
    const r = await s.execute(none());
    expect(r.status).toBe(0);
    await settle();
    expect(cmds).toBe(1);
    expect(s.state.kind).toBe("failed");
  });
});

describe("answers to requests we never made (case 14)", () => {
  const cases: Array<[string, (c: FakeConnection) => void]> = [
    [
      "Task Management Response",
      (c) => c.send(encodeTaskMgmtResponse({ response: 0, itt: 0x00123456, ...c.status() })),
    ],
    [
      "Text Response",
      (c) =>
        c.send(
          encodeTextResponse({
            final: true,
            continue: false,
            lun: 0n,
            itt: 0x00123456,
            ttt: RESERVED_TAG,
            ...c.status(),
          }),
        ),
    ],
    [
      "Logout Response",
      (c) =>
        c.send(
          encodeLogoutResponse({ response: 0, itt: 0x00123456, ...c.status(), time2Wait: 65535, time2Retain: 65535 }),
        ),
    ],
  ];
  for (const [name, send] of cases) {
    test(`an unsolicited ${name}: protocol error naming the ITT; the outstanding command fails, never succeeds`, async () => {
      const { s } = await open((c) => send(c));
      await expectFailure(s.execute(none()), "PROTOCOL", /unknown ITT 0x123456/);
    });
  }

  test("the reserved ITT 0xffffffff on a SCSI Response: protocol error", async () => {
    const { s } = await open((c, cmd) => c.good({ ...cmd, itt: RESERVED_TAG }));
    await expectFailure(s.execute(none()), "PROTOCOL", /unknown ITT 0xffffffff/);
  });
});

describe("writes and their status (cases 44, 69)", () => {
  test("an R2T longer than MaxBurstLength is served (lenient, as Linux) and the data is exactly the caller's", async () => {
    const data = new Uint8Array(8192).map((_, i) => (i * 5) & 0xff);
    const got = new Uint8Array(8192);
    let cmdOf: ScsiCommand | undefined;
    target = FakeTarget.inMemory({
      answers: { ImmediateData: "No", InitialR2T: "Yes", MaxBurstLength: "4096", FirstBurstLength: "4096" },
      onPdu(c, f) {
        if (f.pdu.opcode === Opcode.ScsiCommand) {
          cmdOf = f.pdu as ScsiCommand;
          c.ack(cmdOf);
          c.r2t(cmdOf, 0, 0, 8192);
        } else if (f.pdu.opcode === Opcode.DataOut) {
          const d = f.pdu as DataOut;
          got.set(f.data, d.bufferOffset);
          if (d.final) c.good(cmdOf!);
        }
      },
    });
    session = await Session.open({
      ...target.endpoint,
      login: {
        initiatorName: "iqn.2026-11.dev.iscsi:hostile",
        targetName: "iqn.2026-11.test:fake",
        sessionType: "Normal",
        auth: { method: "None" },
      },
      recovery: { enabled: false, nopIntervalMs: 0, commandTimeoutMs: 0 },
    });
    expect(session.negotiated.maxBurstLength).toBe(4096);
    expect((await session.execute({ ...write(8192), data })).status).toBe(0);
    expect(got).toEqual(data);
  });

  test("a write whose data all went out is not done until GOOD arrives; if the connection drops first it fails, never succeeds", async () => {
    let conn: FakeConnection | undefined;
    const { s, wire } = await open((c, cmd) => {
      conn = c;
      c.r2t(cmd, 0, 0, 4096);
    });
    const pending = s.execute(write(4096));
    await Bun.sleep(100);
    expect(wire.dataOut.reduce((n, d) => n + d.dataSegmentLength, 0)).toBe(4096);
    expect((await within(pending, 500)).state).toBe("pending");
    conn!.close();
    await expectFailure(pending, "TRANSPORT", /closed by the target/);
  });
});

describe("our own requests answered wrongly (cases 78, 83)", () => {
  async function withLogout(onLogout: (c: FakeConnection, itt: number) => void): Promise<Session> {
    target = FakeTarget.inMemory({ onLogout: (c, f) => (onLogout(c, f.pdu.itt), true) });
    session = await Session.open({
      ...target.endpoint,
      login: {
        initiatorName: "iqn.2026-11.dev.iscsi:hostile",
        targetName: "iqn.2026-11.test:fake",
        sessionType: "Normal",
        auth: { method: "None" },
      },
      recovery: { enabled: false, nopIntervalMs: 0, commandTimeoutMs: 0 },
    });
    return session;
  }

  for (const response of [1, 2, 3]) {
    test(`Logout Response ${response} with Time2Wait 65535: the logout fails naming it, the connection is closed anyway`, async () => {
      const s = await withLogout((c, itt) =>
        c.send(encodeLogoutResponse({ response, itt, ...c.status(), time2Wait: 65535, time2Retain: 65535 })),
      );
      await expectFailure(s.logout(1_000), "LOGOUT", new RegExp(`refused the logout \\(response ${response}\\)`));
      expect(s.state.kind).toBe("closed");
      expect(s.connection.closed).toBe(true);
    });
  }

  // QUIRK(istgt 0.4): the flake of `istgt: CHAP > one-way CHAP logs in` was this: the target ended the
  // connection after our Logout Request without its Logout Response reaching us.
  test("the target closes the connection instead of answering the logout: the logout is done", async () => {
    const s = await withLogout((c) => c.close());
    await s.logout(5_000);
    expect(s.state.kind).toBe("closed");
    expect(s.connection.closed).toBe(true);
  });

  test("no Logout Response at all: the logout times out and the connection is force-closed", async () => {
    const s = await withLogout(() => {});
    const started = performance.now();
    await expectFailure(s.logout(300), "PDU_TIMEOUT", /Logout: no answer .* within 300 ms/);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(s.connection.closed).toBe(true);
  });

  // Case 78: the NOP-In answering our ping must echo our (empty) ping data; data we never sent is a protocol
  // error (Linux: ISCSI_ERR_PROTO).
  test("a NOP-In answering our ping with data we did not send is a protocol error", async () => {
    target = FakeTarget.inMemory({
      onPdu(c, f) {
        if (f.pdu.opcode === Opcode.NopOut)
          c.send(
            encodeNopIn({
              lun: 0n,
              itt: (f.pdu as { itt: number }).itt,
              ttt: RESERVED_TAG,
              ...c.seq(),
              dataSegmentLength: 4,
            }),
            new Uint8Array([1, 2, 3, 4]),
          );
      },
    });
    session = await Session.open({
      ...target.endpoint,
      login: {
        initiatorName: "iqn.2026-11.dev.iscsi:hostile",
        targetName: "iqn.2026-11.test:fake",
        sessionType: "Normal",
        auth: { method: "None" },
      },
      recovery: { enabled: false, nopIntervalMs: 0, commandTimeoutMs: 0 },
    });
    await expectFailure(session.requests.ping(1_000), "PROTOCOL", /NOP-In/);
  });
});

describe("UNIT ATTENTION (case 51)", () => {
  const ua = new Uint8Array([0, 18, 0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0x00, 0, 0, 0, 0]);

  test("a unit attention is retried (the command did not run) until GOOD", async () => {
    let n = 0;
    const { s } = await open((c, cmd) => (n++ < 2 ? c.good(cmd, { status: 2 }, ua) : c.good(cmd)));
    await new LogicalUnit(s, 0).testUnitReady();
    expect(n).toBe(3);
  });

  test("a target that answers UNIT ATTENTION forever is given up on after a bounded number of tries", async () => {
    let n = 0;
    const { s } = await open((c, cmd) => (n++, c.good(cmd, { status: 2 }, ua)));
    await expect(new LogicalUnit(s, 0).testUnitReady()).rejects.toThrow(
      /UNIT ATTENTION|unit attention|CHECK CONDITION/i,
    );
    expect(n).toBe(11);
  });
});
