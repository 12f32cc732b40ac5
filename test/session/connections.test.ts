// MC/S against the scripted fake target: three connections in one session (the added ones log in with the
// session's ISID and TSIH and CIDs 1 and 2), and connection allegiance checked from the target's side
// (RFC 7143 §6.1): every R2T-driven Data-Out of a write arrives on the connection its command came on, and
// reads and writes complete with the right bytes although answers come on three connections.
import { afterEach, expect, test } from "bun:test";
import { Opcode, type DataOut, type Frame, type LoginRequest, type ScsiCommand } from "../../src/pdu/index.ts";
import { Session } from "../../src/session/session.ts";
import { FakeTarget, type FakeConnection } from "../fake/target.ts";

let target: FakeTarget | undefined;
let session: Session | undefined;

afterEach(() => {
  session?.close();
  target?.stop();
  session = target = undefined;
});

test("three connections: logins carry the ISID and TSIH, Data-Out keeps to its command's connection, data is right", async () => {
  const logins: Array<{ isid: number; tsih: number; cid: number }> = [];
  const owner = new Map<number, FakeConnection>();
  const violations: string[] = [];
  const written = new Map<number, Uint8Array>();
  const disk = new Uint8Array(128 * 512);
  const cmdOf = (f: Frame) => f.pdu as ScsiCommand;
  target = FakeTarget.listen({
    answers: { MaxConnections: "3", InitialR2T: "Yes", ImmediateData: "No", MaxOutstandingR2T: "1" },
    onLogin(_c, f: Frame<LoginRequest>) {
      if (f.pdu.csg === 0) logins.push({ isid: f.pdu.isid, tsih: f.pdu.tsih, cid: f.pdu.cid });
      return false;
    },
    onPdu(c, f) {
      if (f.pdu.opcode === Opcode.ScsiCommand) {
        const cmd = cmdOf(f);
        c.ack(cmd);
        owner.set(cmd.itt, c);
        const lba = (cmd.cdb[2]! << 24) | (cmd.cdb[3]! << 16) | (cmd.cdb[4]! << 8) | cmd.cdb[5]!;
        if (cmd.write) {
          written.set(cmd.itt, new Uint8Array(cmd.expectedDataTransferLength));
          (written.get(cmd.itt) as Uint8Array & { lba?: number }).lba = lba;
          c.r2t(cmd, 0, 0, cmd.expectedDataTransferLength);
        } else {
          c.dataIn(cmd, disk.slice(lba * 512, lba * 512 + cmd.expectedDataTransferLength), {
            statusPresent: true,
            final: true,
          });
        }
      } else if (f.pdu.opcode === Opcode.DataOut) {
        const d = f.pdu as DataOut;
        if (owner.get(d.itt) !== c) violations.push(`Data-Out of ITT ${d.itt} on another connection`);
        const buf = written.get(d.itt)! as Uint8Array & { lba: number };
        buf.set(f.data, d.bufferOffset);
        if (d.final) {
          disk.set(buf, buf.lba * 512);
          c.good({ itt: d.itt, cmdSN: 0, immediate: true } as ScsiCommand);
        }
      }
    },
  });
  session = await Session.open({
    portal: { host: "127.0.0.1", port: target.port },
    login: {
      initiatorName: "iqn.2026-11.dev.iscsi:test",
      targetName: "iqn.2026-11.test:fake",
      sessionType: "Normal",
      auth: { method: "None" },
      proposal: { maxConnections: 3 },
    },
    recovery: { enabled: false },
  });
  expect(logins.map((l) => l.cid)).toEqual([0, 1, 2]);
  expect(new Set(logins.map((l) => l.isid)).size).toBe(1);
  expect(logins.map((l) => l.tsih)).toEqual([0, 7, 7]);

  const s = session;
  const block = (i: number) => new Uint8Array(2048).fill(i + 1);
  await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      s.execute({
        lun: 0,
        cdb: new Uint8Array([0x2a, 0, 0, 0, 0, i * 4, 0, 0, 4, 0]),
        direction: "write",
        transferLength: 2048,
        data: block(i),
        name: "WRITE(10)",
      }),
    ),
  );
  const reads = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      s.execute({
        lun: 0,
        cdb: new Uint8Array([0x28, 0, 0, 0, 0, i * 4, 0, 0, 4, 0]),
        direction: "read",
        transferLength: 2048,
        name: "READ(10)",
      }),
    ),
  );
  expect(violations).toEqual([]);
  expect(new Set(owner.values()).size).toBe(3);
  for (const [i, r] of reads.entries()) expect(r.data.every((b) => b === i + 1)).toBe(true);
  expect(s.connections.views().map((c) => c.commands)).toEqual([20, 20, 20]);
});

test("a target answering a command on another connection than the command's breaks allegiance: a protocol error, no data placed", async () => {
  const conns: FakeConnection[] = [];
  target = FakeTarget.listen({
    answers: { MaxConnections: "2" },
    onLogin(c) {
      if (!conns.includes(c)) conns.push(c);
      return false;
    },
    onPdu(c, f) {
      if (f.pdu.opcode !== Opcode.ScsiCommand) return;
      const cmd = f.pdu as ScsiCommand;
      c.ack(cmd);
      const other = conns.find((x) => x !== c)!;
      other.dataIn(cmd, new Uint8Array(512).fill(9), { statusPresent: true, final: true });
    },
  });
  session = await Session.open({
    portal: { host: "127.0.0.1", port: target.port },
    login: {
      initiatorName: "iqn.2026-11.dev.iscsi:test",
      targetName: "iqn.2026-11.test:fake",
      sessionType: "Normal",
      auth: { method: "None" },
      proposal: { maxConnections: 2 },
    },
    recovery: { enabled: false },
  });
  expect(session.connections.views()).toHaveLength(2);
  const buffer = new Uint8Array(512);
  await expect(
    session.execute({
      lun: 0,
      cdb: new Uint8Array([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
      direction: "read",
      transferLength: 512,
      buffer,
      name: "READ(10)",
    }),
  ).rejects.toThrow(/came on connection 1, not on 0 where the command went|came on connection 0, not on 1/);
  expect(buffer.every((b) => b === 0)).toBe(true);
});
