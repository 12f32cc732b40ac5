// ERL0 recovery against the scripted fake target on real TCP: reinstatement with the same ISID and TSIH 0,
// re-issue of outstanding commands, "outcome unknown" for non-idempotent ones, the replacement timeout,
// NOP keepalive and command-timeout escalation (RFC 7143 §6.3.5, §7.1.5, §11.5, §11.18; docs/architecture.md, "Recovery (ERL0)").
import { describe, expect, test } from "bun:test";
import {
  Opcode,
  encodeAsyncMessage,
  encodeTaskMgmtResponse,
  encodeTextResponse,
  type Frame,
  type LoginRequest,
  type ScsiCommand,
  type TaskMgmtRequest,
} from "../../src/pdu/index.ts";
import { LogicalUnit } from "../../src/session/logical-unit.ts";
import type { RecoveryOptions } from "../../src/session/core.ts";
import { type FakeConnection, type FakeTargetOptions } from "../fake/target.ts";
import type { Session } from "../../src/session/session.ts";
import { fakeFixture } from "../support/fake-session.ts";

const fake = fakeFixture();

const fast: Partial<RecoveryOptions> = { maxBackoffMs: 50, nopIntervalMs: 0, commandTimeoutMs: 0 };

async function open(opts: FakeTargetOptions, recovery: Partial<RecoveryOptions> = {}): Promise<Session> {
  return fake.open(
    { answers: { DefaultTime2Wait: "0" }, ...opts },
    { login: { proposal: { defaultTime2Wait: 0 } }, recovery: { enabled: true, ...fast, ...recovery } },
  );
}

const read512 = {
  lun: 0,
  cdb: new Uint8Array([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
  direction: "read" as const,
  transferLength: 512,
  name: "READ(10)",
};
const index = (c: FakeConnection) => fake.target!.connections.indexOf(c);
const logins = () =>
  fake.target!.connections.map(
    (c) => c.received.find((f) => f.pdu.opcode === Opcode.LoginRequest)!.pdu as LoginRequest,
  );

test("a protocol error drops the connection; the session logs in again (same ISID, TSIH 0) and re-issues the read", async () => {
  const s = await open({
    onPdu(c, f) {
      if (f.pdu.opcode !== Opcode.ScsiCommand) return;
      const cmd = f.pdu as ScsiCommand;
      c.ack(cmd);
      if (index(c) === 0)
        c.dataIn(cmd, new Uint8Array(4096), { statusPresent: true, final: true }); // past the buffer
      else c.dataIn(cmd, new Uint8Array(512).fill(0x42), { statusPresent: true, final: true });
    },
  });
  const r = await s.execute(read512);
  expect(r.data.every((b) => b === 0x42)).toBe(true);
  expect(s.stats.reinstatements).toBe(1);
  expect(s.stats.reissued).toBe(1);
  const [first, second] = logins();
  expect(second!.isid).toBe(first!.isid);
  expect(second!.tsih).toBe(0);
  expect(s.history.map((h) => h.event)).toEqual(["lost", "reinstated"]);
  expect(s.state.kind).toBe("full-feature");
});

test("a non-idempotent command in flight fails with 'outcome unknown' and is not re-issued", async () => {
  let compareAndWrites = 0;
  const s = await open({
    onPdu(c, f) {
      if (f.pdu.opcode !== Opcode.ScsiCommand) return;
      const cmd = f.pdu as ScsiCommand;
      if (cmd.cdb[0] === 0x89) {
        compareAndWrites++;
        c.close();
      }
    },
  });
  const caw = {
    lun: 0,
    cdb: new Uint8Array(16).fill(0).map((_, i) => (i === 0 ? 0x89 : i === 13 ? 1 : 0)),
    direction: "write" as const,
    transferLength: 1024,
    data: new Uint8Array(1024),
    name: "COMPARE AND WRITE",
  };
  const err = await s.execute(caw).then(
    () => undefined,
    (e: unknown) => e as Error & { code: string },
  );
  expect(err?.code).toBe("OUTCOME_UNKNOWN");
  await Bun.sleep(200);
  expect(compareAndWrites).toBe(1);
});

test("replacement timeout 0: waiting I/O fails at once with a clear error, and works again once the target is back", async () => {
  let up = false;
  const s = await open(
    {
      onPdu(c, f) {
        if (f.pdu.opcode !== Opcode.ScsiCommand) return;
        const cmd = f.pdu as ScsiCommand;
        c.ack(cmd);
        if (!up) c.close();
        else c.dataIn(cmd, new Uint8Array(512).fill(7), { statusPresent: true, final: true });
      },
    },
    { replacementTimeoutMs: 0 },
  );
  const err = await s.execute(read512).then(
    () => undefined,
    (e: unknown) => e as Error & { code: string },
  );
  expect(err?.code).toBe("TRANSPORT");
  expect(err?.message).toMatch(/replacement timeout is 0/);
  up = true;
  for (let i = 0; i < 50 && s.state.kind !== "full-feature"; i++) await Bun.sleep(20);
  expect(s.state.kind).toBe("full-feature");
  expect((await s.execute(read512)).data[0]).toBe(7);
});

test("a silent target is detected by the NOP keepalive within interval + timeout and the session reinstated", async () => {
  let silent = true;
  const s = await open(
    {
      onPdu(c, f) {
        if (f.pdu.opcode === Opcode.NopOut && !silent) c.nopIn(0xffffffff);
      },
    },
    { nopIntervalMs: 200, nopTimeoutMs: 200 },
  );
  const started = performance.now();
  while (s.history.length === 0 && performance.now() - started < 3000) await Bun.sleep(20);
  const detected = performance.now() - started;
  expect(s.history[0]?.event).toBe("lost");
  expect(s.history[0]?.detail).toMatch(/no answer to NOP-Out/);
  expect(detected).toBeLessThan(200 + 200 + 400);
  silent = false;
});

test("a command without status is aborted (ABORT TASK) and reported as failed, never as done", async () => {
  const tmfs: TaskMgmtRequest[] = [];
  const s = await open(
    {
      onPdu(c, f: Frame) {
        if (f.pdu.opcode === Opcode.ScsiCommand) c.ack(f.pdu as ScsiCommand);
        if (f.pdu.opcode === Opcode.TaskMgmtRequest) {
          const tmf = f.pdu as TaskMgmtRequest;
          tmfs.push(tmf);
          c.send(encodeTaskMgmtResponse({ response: 0, itt: tmf.itt, ...c.status() }));
        }
      },
    },
    { commandTimeoutMs: 200 },
  );
  const err = await s.execute(read512).then(
    () => undefined,
    (e: unknown) => e as Error & { code: string },
  );
  expect(err?.code).toBe("TIMEOUT");
  expect(err?.message).toMatch(/aborted/);
  expect(tmfs.length).toBe(1);
  expect(tmfs[0]!.function).toBe(1);
  expect(s.state.kind).toBe("full-feature");
});

test("Async Message event 1 (logout requested): we log out, drop the connection, and the session comes back by itself", async () => {
  const s = await open({});
  const conn = fake.target!.connections[0]!;
  conn.send(
    encodeAsyncMessage({
      lun: 0n,
      itt: 0xffffffff,
      ...conn.status(),
      asyncEvent: 1,
      asyncVCode: 0,
      parameter1: 0,
      parameter2: 0,
      parameter3: 2,
    }),
  );
  for (let i = 0; i < 100 && s.stats.reinstatements === 0; i++) await Bun.sleep(20);
  expect(s.stats.reinstatements).toBe(1);
  expect(s.history[0]?.detail).toMatch(/requested a logout/);
  expect(fake.target!.connections.length).toBe(2);
  expect(fake.target!.connections[0]!.received.some((f) => f.pdu.opcode === Opcode.LogoutRequest)).toBe(true);
});

test("Async Message event 2 (connection drop ahead): the next login waits the Time2Wait it announced", async () => {
  const s = await open({}, { maxBackoffMs: 5000 });
  const conn = fake.target!.connections[0]!;
  conn.send(
    encodeAsyncMessage({
      lun: 0n,
      itt: 0xffffffff,
      ...conn.status(),
      asyncEvent: 2,
      asyncVCode: 0,
      parameter1: 0,
      parameter2: 1,
      parameter3: 20,
    }),
  );
  await Bun.sleep(50);
  const dropped = performance.now();
  conn.close();
  for (let i = 0; i < 150 && s.stats.reinstatements === 0; i++) await Bun.sleep(20);
  expect(s.stats.reinstatements).toBe(1);
  // DefaultTime2Wait is 0 here, so only the announced 1 s can account for the wait.
  expect(performance.now() - dropped).toBeGreaterThanOrEqual(950);
  expect(s.takeTime2WaitHint()).toBeUndefined();
});

test("Async Message event 4 (negotiation requested) is answered with an empty Text Request; the session stays up", async () => {
  const s = await open({
    onPdu(c, f) {
      if (f.pdu.opcode === Opcode.TextRequest)
        c.send(
          encodeTextResponse({ final: true, continue: false, lun: 0n, itt: f.pdu.itt, ttt: 0xffffffff, ...c.seq() }),
        );
    },
  });
  const conn = fake.target!.connections[0]!;
  conn.send(
    encodeAsyncMessage({
      lun: 0n,
      itt: 0xffffffff,
      ...conn.status(),
      asyncEvent: 4,
      asyncVCode: 0,
      parameter1: 0,
      parameter2: 0,
      parameter3: 5,
    }),
  );
  let text: Frame | undefined;
  for (let i = 0; i < 100 && !text; i++) {
    await Bun.sleep(10);
    text = conn.received.find((f) => f.pdu.opcode === Opcode.TextRequest);
  }
  expect(text?.pdu.dataSegmentLength).toBe(0);
  await Bun.sleep(50);
  expect(s.state.kind).toBe("full-feature");
  expect(fake.target!.connections.length).toBe(1);
});

describe("status policies in LogicalUnit", () => {
  const respond = (statuses: number[]) => {
    let n = 0;
    return (c: FakeConnection, f: Frame) => {
      if (f.pdu.opcode !== Opcode.ScsiCommand) return;
      const cmd = f.pdu as ScsiCommand;
      c.ack(cmd);
      c.good(cmd, { status: statuses[Math.min(n++, statuses.length - 1)]! });
    };
  };
  const tur = (s: Session) => new LogicalUnit(s, 0).testUnitReady();

  test("BUSY and TASK SET FULL are retried with backoff until GOOD", async () => {
    const s = await open({ onPdu: respond([0x08, 0x28, 0x08, 0x00]) });
    await tur(s);
    expect(s.stats.commands).toBe(4);
  });

  test("RESERVATION CONFLICT fails at once, no retry", async () => {
    const s = await open({ onPdu: respond([0x18, 0x00]) });
    await expect(tur(s)).rejects.toThrow(/RESERVATION CONFLICT/);
    expect(s.stats.commands).toBe(1);
  });

  test("BUSY forever ends with an error after a bounded number of tries", async () => {
    const s = await open({ onPdu: respond([0x08]) });
    await expect(tur(s)).rejects.toThrow(/BUSY/);
    expect(s.stats.commands).toBe(9);
  });
});

test("after reinstatement a LU with another serial number is not trusted: its I/O fails, nothing is re-issued to it", async () => {
  const serials = ["SERIAL-A", "SERIAL-B"];
  let readsOnSecond = 0;
  const s = await open({
    onPdu(c, f) {
      if (f.pdu.opcode !== Opcode.ScsiCommand) return;
      const cmd = f.pdu as ScsiCommand;
      c.ack(cmd);
      const serial = new TextEncoder().encode(serials[index(c)]!);
      switch (cmd.cdb[0]) {
        case 0x12: // INQUIRY: VPD 0x00 lists 0x80; 0x80 is the unit serial number
          if (cmd.cdb[2] === 0x00)
            c.dataIn(cmd, new Uint8Array([0, 0, 0, 2, 0x00, 0x80]), {
              statusPresent: true,
              final: true,
              residualUnderflow: true,
              residualCount: cmd.expectedDataTransferLength - 6,
            });
          else
            c.dataIn(cmd, new Uint8Array([0, 0x80, 0, serial.length, ...serial]), {
              statusPresent: true,
              final: true,
              residualUnderflow: true,
              residualCount: cmd.expectedDataTransferLength - 4 - serial.length,
            });
          return;
        case 0x9e: {
          // READ CAPACITY(16): 2048 blocks of 512
          const d = new Uint8Array(32);
          new DataView(d.buffer).setBigUint64(0, 2047n);
          new DataView(d.buffer).setUint32(8, 512);
          c.dataIn(cmd, d, { statusPresent: true, final: true });
          return;
        }
        case 0x28:
          if (index(c) === 0)
            c.close(); // the read is outstanding when the connection goes
          else readsOnSecond++;
          return;
        default:
          c.good(cmd);
      }
    },
  });
  const lu = new LogicalUnit(s, 0);
  await lu.open();
  expect(s.recordedIdentity(0)).toContain("SERIAL-A");
  const err = await lu.read(0n, 1).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(err?.message).toMatch(/not the same logical unit after reconnecting/);
  expect(s.state.kind).toBe("failed");
  expect(s.history.map((h) => h.event)).toContain("identity-changed");
  expect(readsOnSecond).toBe(0);
});

// Case 63: ABORT TASK racing the command's own response. The target answers the command just before it answers the
// TMF (RFC 7143 §11.5.1: then "task does not exist" or "function complete"); the command completes exactly once,
// with the status that arrived, and the session stays up.
for (const tmfResponse of [0, 1]) {
  test(`ABORT TASK racing the command's response (TMF answer ${tmfResponse}): the command completes once, with its GOOD status`, async () => {
    let aborts = 0;
    const s = await open(
      {
        onPdu(c, f: Frame) {
          if (f.pdu.opcode === Opcode.ScsiCommand) c.ack(f.pdu as ScsiCommand);
          if (f.pdu.opcode === Opcode.TaskMgmtRequest) {
            const tmf = f.pdu as TaskMgmtRequest;
            aborts++;
            const cmd = c.received
              .map((r) => r.pdu)
              .find(
                (p): p is ScsiCommand =>
                  p.opcode === Opcode.ScsiCommand && (p as ScsiCommand).itt === tmf.referencedTaskTag,
              )!;
            c.dataIn(cmd, new Uint8Array(512), { statusPresent: true, final: true });
            c.send(encodeTaskMgmtResponse({ response: tmfResponse, itt: tmf.itt, ...c.status() }));
          }
        },
      },
      { commandTimeoutMs: 200 },
    );
    let settled = 0;
    const result = await s.execute(read512).then(
      (r) => (settled++, r),
      (e: Error) => (settled++, e),
    );
    await Bun.sleep(300); // a second completion would land here
    expect(aborts).toBe(1);
    expect(settled).toBe(1);
    expect(result).not.toBeInstanceOf(Error);
    expect((result as { status: number }).status).toBe(0);
    expect(s.state.kind).toBe("full-feature");
    expect(s.tasks.size).toBe(0);
  });
}
