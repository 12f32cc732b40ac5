// Session behaviour against the scripted fake target on an in-memory pipe: the cases real targets won't
// produce (hostile Data-In and R2T, closed windows, NOP-In pings, residuals, sense).
import { describe, expect, test } from "bun:test";
import { Opcode, RESERVED_TAG, type DataOut, type Frame, type ScsiCommand } from "../../src/pdu/index.ts";
import { type FakeConnection, type FakeTargetOptions } from "../fake/target.ts";
import { settle } from "../support/clock.ts";
import type { Session } from "../../src/session/session.ts";
import { fakeFixture } from "../support/fake-session.ts";

const fake = fakeFixture();

// Detection is what these tests check, so recovery is off: a protocol error fails the session at once.
async function open(opts: FakeTargetOptions, queueDepth?: number): Promise<Session> {
  return fake.open(opts, queueDepth ? { queueDepth } : {});
}

const readCmd = (len: number) => ({
  lun: 0,
  cdb: new Uint8Array([0x28, 0, 0, 0, 0, 0, 0, 0, len / 512, 0]),
  direction: "read" as const,
  transferLength: len,
  name: "READ(10)",
});
const writeCmd = (data: Uint8Array) => ({
  lun: 0,
  cdb: new Uint8Array([0x2a, 0, 0, 0, 0, 0, 0, 0, data.length / 512, 0]),
  direction: "write" as const,
  transferLength: data.length,
  data,
  name: "WRITE(10)",
});
const cmdOf = (f: Frame) => f.pdu as ScsiCommand;

describe("Data-In", () => {
  test("data in several PDUs with status in the last lands in order", async () => {
    const s = await open({
      onPdu(c, f) {
        if (f.pdu.opcode !== Opcode.ScsiCommand) return;
        const cmd = cmdOf(f);
        c.ack(cmd);
        const bytes = new Uint8Array(1024).map((_, i) => i & 0xff);
        c.dataIn(cmd, bytes.subarray(0, 512), { dataSN: 0, bufferOffset: 0 });
        c.dataIn(cmd, bytes.subarray(512), { dataSN: 1, bufferOffset: 512, statusPresent: true, final: true });
      },
    });
    const r = await s.execute(readCmd(1024));
    expect(r.status).toBe(0);
    expect(r.data.length).toBe(1024);
    expect(r.data[513]).toBe(1);
  });

  test("Data-In past the end of the buffer fails the command and drops the connection", async () => {
    const s = await open({
      onPdu(c, f) {
        if (f.pdu.opcode !== Opcode.ScsiCommand) return;
        const cmd = cmdOf(f);
        c.ack(cmd);
        c.dataIn(cmd, new Uint8Array(1024), { statusPresent: true, final: true });
      },
    });
    const buffer = new Uint8Array(600).fill(0xee);
    await expect(s.execute({ ...readCmd(512), buffer })).rejects.toThrow(/exceeds the expected 512 bytes/);
    expect(buffer.subarray(512).every((b) => b === 0xee)).toBe(true);
    expect(s.state.kind).toBe("failed");
  });

  test("a DataSN gap is a protocol error", async () => {
    const s = await open({
      onPdu(c, f) {
        if (f.pdu.opcode !== Opcode.ScsiCommand) return;
        const cmd = cmdOf(f);
        c.ack(cmd);
        c.dataIn(cmd, new Uint8Array(512), { dataSN: 1, statusPresent: true, final: true });
      },
    });
    await expect(s.execute(readCmd(512))).rejects.toThrow(/DataSN 1, expected 0/);
  });

  test("underflow residual is reported and the data cut to what moved", async () => {
    const s = await open({
      onPdu(c, f) {
        if (f.pdu.opcode !== Opcode.ScsiCommand) return;
        const cmd = cmdOf(f);
        c.ack(cmd);
        c.dataIn(cmd, new Uint8Array(512).fill(7), {
          statusPresent: true,
          final: true,
          residualUnderflow: true,
          residualCount: 512,
        });
      },
    });
    const r = await s.execute(readCmd(1024));
    expect(r.residualUnderflow).toBe(512);
    expect(r.data.length).toBe(512);
  });

  test("GOOD status with bytes missing is not success", async () => {
    const s = await open({
      onPdu(c, f) {
        if (f.pdu.opcode !== Opcode.ScsiCommand) return;
        const cmd = cmdOf(f);
        c.ack(cmd);
        c.good(cmd);
      },
    });
    await expect(s.execute(readCmd(512))).rejects.toThrow(/GOOD with 0 of 512 bytes/);
  });
});

describe("SCSI Response", () => {
  test("CHECK CONDITION carries its sense bytes", async () => {
    const s = await open({
      onPdu(c, f) {
        if (f.pdu.opcode !== Opcode.ScsiCommand) return;
        const cmd = cmdOf(f);
        c.ack(cmd);
        const sense = new Uint8Array([0, 18, 0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x21, 0, 0, 0, 0, 0]);
        c.good(cmd, { status: 2 }, sense);
      },
    });
    const r = await s.execute(readCmd(512));
    expect(r.status).toBe(2);
    expect(r.sense?.[2]).toBe(0x05);
    expect(r.sense?.[12]).toBe(0x21);
  });

  test("SenseLength larger than the data fails the command, not the session", async () => {
    const s = await open({
      onPdu(c, f) {
        if (f.pdu.opcode !== Opcode.ScsiCommand) return;
        const cmd = cmdOf(f);
        c.ack(cmd);
        c.good(cmd, { status: 2 }, new Uint8Array([0xff, 0xff, 0x70, 0]));
      },
    });
    await expect(s.execute(readCmd(512))).rejects.toThrow(/malformed sense/);
    expect(s.state.kind).toBe("full-feature");
  });

  test("both residual overflow and underflow is a protocol error", async () => {
    const s = await open({
      onPdu(c, f) {
        if (f.pdu.opcode !== Opcode.ScsiCommand) return;
        const cmd = cmdOf(f);
        c.ack(cmd);
        c.good(cmd, { residualOverflow: true, residualUnderflow: true, residualCount: 1 });
      },
    });
    await expect(s.execute({ lun: 0, cdb: new Uint8Array(6), direction: "none", transferLength: 0 })).rejects.toThrow(
      /both residual overflow and underflow/,
    );
  });

  test("a response for an unknown ITT drops the connection and fails what is outstanding", async () => {
    const s = await open({
      onPdu(c, f) {
        if (f.pdu.opcode !== Opcode.ScsiCommand) return;
        c.ack(cmdOf(f));
        c.good({ ...cmdOf(f), itt: 0x00abcdef });
      },
    });
    await expect(s.execute(readCmd(512))).rejects.toThrow(/unknown ITT 0xabcdef/);
  });
});

describe("R2T and Data-Out", () => {
  test("R2Ts are answered with Data-Out from the caller's buffer, cut to MaxRecvDataSegmentLength", async () => {
    const outs: DataOut[] = [];
    const data = new Uint8Array(64 * 1024).map((_, i) => (i * 7) & 0xff);
    const got = new Uint8Array(data.length);
    const s = await open({
      answers: {
        ImmediateData: "No",
        InitialR2T: "Yes",
        MaxRecvDataSegmentLength: "8192",
        MaxBurstLength: "16384",
        FirstBurstLength: "8192",
      },
      onPdu(c, f) {
        if (f.pdu.opcode === Opcode.ScsiCommand) {
          const cmd = cmdOf(f);
          c.ack(cmd);
          (c as FakeConnection & { cmd?: ScsiCommand }).cmd = cmd;
          for (let i = 0; i < 4; i++) c.r2t(cmd, i, i * 16384, 16384);
        } else if (f.pdu.opcode === Opcode.DataOut) {
          const d = f.pdu as DataOut;
          outs.push(d);
          got.set(f.data, d.bufferOffset);
          if (d.bufferOffset + f.data.length === data.length)
            c.good((c as FakeConnection & { cmd?: ScsiCommand }).cmd!);
        }
      },
    });
    const r = await s.execute(writeCmd(data));
    expect(r.status).toBe(0);
    expect(got).toEqual(data);
    expect(outs.length).toBe(8);
    expect(outs.every((o) => o.dataSegmentLength <= 8192)).toBe(true);
    expect(outs.filter((o) => o.final).length).toBe(4);
    expect(outs.map((o) => o.dataSN)).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
    expect(s.stats.r2ts).toBe(4);
  });

  test("an R2T reaching past the command's buffer (32-bit wrap) is refused and nothing is sent", async () => {
    let dataOuts = 0;
    const s = await open({
      answers: { ImmediateData: "No", InitialR2T: "Yes" },
      onPdu(c, f) {
        if (f.pdu.opcode === Opcode.ScsiCommand) {
          const cmd = cmdOf(f);
          c.ack(cmd);
          c.r2t(cmd, 0, 0xfffffff0, 0x20);
        } else if (f.pdu.opcode === Opcode.DataOut) dataOuts++;
      },
    });
    await expect(s.execute(writeCmd(new Uint8Array(4096)))).rejects.toThrow(/exceeds the 4096 bytes/);
    await settle();
    expect(dataOuts).toBe(0);
  });

  test("immediate and unsolicited data go out up to FirstBurstLength without an R2T", async () => {
    const seen: Array<{ offset: number; len: number; ttt: number }> = [];
    const s = await open({
      answers: { ImmediateData: "Yes", InitialR2T: "No", FirstBurstLength: "16384", MaxRecvDataSegmentLength: "4096" },
      onPdu(c, f) {
        if (f.pdu.opcode === Opcode.ScsiCommand) {
          const cmd = cmdOf(f);
          c.ack(cmd);
          seen.push({ offset: 0, len: f.data.length, ttt: -1 });
          (c as FakeConnection & { cmd?: ScsiCommand }).cmd = cmd;
        } else if (f.pdu.opcode === Opcode.DataOut) {
          const d = f.pdu as DataOut;
          seen.push({ offset: d.bufferOffset, len: f.data.length, ttt: d.ttt });
          if (d.final) c.good((c as FakeConnection & { cmd?: ScsiCommand }).cmd!);
        }
      },
    });
    await s.execute(writeCmd(new Uint8Array(16384)));
    expect(seen[0]).toEqual({ offset: 0, len: 4096, ttt: -1 });
    expect(seen.slice(1).map((x) => x.offset)).toEqual([4096, 8192, 12288]);
    expect(seen.slice(1).every((x) => x.ttt === RESERVED_TAG)).toBe(true);
  });
});

describe("CmdSN window and NOP", () => {
  test("a closed window postpones commands until the target opens it", async () => {
    let conn: FakeConnection | undefined;
    const cmds: ScsiCommand[] = [];
    const s = await open({
      window: 1,
      onPdu(c, f) {
        conn = c;
        if (f.pdu.opcode === Opcode.ScsiCommand) cmds.push(cmdOf(f));
      },
    });
    const a = s.execute({ lun: 0, cdb: new Uint8Array(6), direction: "none", transferLength: 0 });
    const b = s.execute({ lun: 0, cdb: new Uint8Array(6), direction: "none", transferLength: 0 });
    await settle();
    expect(cmds.length).toBe(1); // MaxCmdSN = ExpCmdSN: room for exactly one
    // Answer the first without sliding the window: the second must stay postponed.
    conn!.good(cmds[0]!);
    await a;
    await settle();
    expect(cmds.length).toBe(1);
    conn!.ack(cmds[0]!);
    conn!.nopIn(0x55); // any PDU carries the new MaxCmdSN
    await settle();
    expect(cmds.length).toBe(2);
    expect(cmds[1]!.cmdSN).toBe((cmds[0]!.cmdSN + 1) >>> 0);
    conn!.good(cmds[1]!);
    await b;
  });

  test("a NOP-In asking for an answer gets a NOP-Out echoing its TTT, LUN and ping data", async () => {
    let conn: FakeConnection | undefined;
    const s = await open({
      onPdu(c) {
        conn = c;
      },
    });
    // Any PDU reaches onPdu only in full feature phase; find the connection from the target.
    conn = fake.target!.connections[0]!;
    conn.nopIn(0x1234, new Uint8Array([1, 2, 3, 4]));
    await settle();
    const nop = conn.received.find((f) => f.pdu.opcode === Opcode.NopOut);
    expect(nop).toBeDefined();
    expect((nop!.pdu as { ttt: number }).ttt).toBe(0x1234);
    expect((nop!.pdu as { itt: number }).itt).toBe(RESERVED_TAG);
    expect([...nop!.data]).toEqual([1, 2, 3, 4]);
    expect(s.stats.nopInAnswered).toBe(1);
  });

  test("ExpCmdSN/MaxCmdSN with MaxCmdSN < ExpCmdSN − 1 are ignored", async () => {
    const s = await open({});
    const before = s.window.maxCmdSN;
    const conn = fake.target!.connections[0]!;
    conn.expCmdSN = (s.window.expCmdSN + 10) >>> 0;
    conn.maxCmdSN = (s.window.expCmdSN + 5) >>> 0;
    conn.nopIn(0x77);
    await settle();
    expect(s.window.maxCmdSN).toBe(before);
  });
});
