// Sequence numbers and tags against the fake target (reliability.md cases 12, 13, 16; RFC 7143 §4.2.2.1,
// §4.2.2.2, §11.2.1.8): a window that stays closed (probed at once, commands failed at their command timeout,
// also through `iscsi read`), CmdSN and StatSN across 2^32, and unique ITTs under load.
import { expect, test } from "bun:test";
import { encodeNopIn, Opcode, RESERVED_TAG, type NopOut, type ScsiCommand } from "../../src/pdu/index.ts";
import type { ScsiTask } from "../../src/session/task.ts";
import { FakeTarget, type FakeConnection, type FakeTargetOptions } from "../fake/target.ts";
import { settle } from "../support/clock.ts";
import type { Session } from "../../src/session/session.ts";
import { fakeFixture } from "../support/fake-session.ts";
import { within } from "../fault/outcome.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ERROR_CATALOGUE } from "../../src/contract/errors.ts";

const fake = fakeFixture();

async function open(
  opts: FakeTargetOptions,
  extra: { initialCmdSN?: number; queueDepth?: number; commandTimeoutMs?: number } = {},
): Promise<Session> {
  return fake.open(opts, {
    login: {
      initiatorName: "iqn.2026-11.dev.iscsi:seq",
      ...(extra.initialCmdSN !== undefined ? { initialCmdSN: extra.initialCmdSN } : {}),
    },
    recovery: { nopIntervalMs: 0, commandTimeoutMs: extra.commandTimeoutMs ?? 0 },
    ...(extra.queueDepth ? { queueDepth: extra.queueDepth } : {}),
  });
}

const tur = (): ScsiTask => ({
  lun: 0,
  cdb: new Uint8Array(6),
  direction: "none",
  transferLength: 0,
  name: "TEST UNIT READY",
});

test("a window closed from login on: no SCSI Command goes out, an immediate NOP-Out still does; opening it sends the command (case 12)", async () => {
  const commands: ScsiCommand[] = [];
  const s = await open({
    window: 0, // MaxCmdSN = ExpCmdSN − 1
    onPdu(c, f) {
      if (f.pdu.opcode === Opcode.ScsiCommand) {
        commands.push(f.pdu as ScsiCommand);
        c.ack(f.pdu as ScsiCommand);
        c.good(f.pdu as ScsiCommand);
      } else if (f.pdu.opcode === Opcode.NopOut && (f.pdu as NopOut).itt !== RESERVED_TAG) {
        c.send(encodeNopIn({ lun: 0n, itt: (f.pdu as NopOut).itt, ttt: RESERVED_TAG, ...c.seq() }));
      }
    },
  });
  const pending = s.execute(tur());
  expect(await s.requests.ping(1_000)).toBeGreaterThanOrEqual(0);
  expect((await within(pending, 300)).state).toBe("pending");
  expect(commands).toEqual([]);
  const c = fake.target!.connections[0]!;
  c.maxCmdSN = c.expCmdSN; // room for one
  c.nopIn(RESERVED_TAG);
  expect((await within(pending, 1_000)).state).toBe("resolved");
  expect(commands.length).toBe(1);
});

// Case 12: a Text Request is non-immediate, so it must wait for the window like a command; one sent with
// CmdSN > MaxCmdSN would be silently ignored by the target (RFC 7143 §4.2.2.1) and hang until its timeout.
test("a Text Request waits for a closed window instead of going out beyond MaxCmdSN", async () => {
  const texts: number[] = [];
  const s = await open({
    window: 0,
    onPdu(_c, f) {
      if (f.pdu.opcode === Opcode.TextRequest) texts.push((f.pdu as { cmdSN: number }).cmdSN);
    },
  });
  const pending = s.requests.text([["SendTargets", "All"]], 500).catch(() => undefined);
  await settle();
  expect(texts).toEqual([]);
  await pending;
});

test("CmdSN from 0xFFFFFFF0 and StatSN from 0xFFFFFFF8 across 2^32: 100 commands, no stall, acknowledgements right (case 13)", async () => {
  const seen: Array<{ cmdSN: number; expStatSN: number }> = [];
  const s = await open(
    {
      statSN: 0xfffffff8,
      window: 8,
      onPdu(c, f) {
        if (f.pdu.opcode !== Opcode.ScsiCommand) return;
        const cmd = f.pdu as ScsiCommand;
        seen.push({ cmdSN: cmd.cmdSN, expStatSN: cmd.expStatSN });
        c.ack(cmd);
        c.good(cmd);
      },
    },
    { initialCmdSN: 0xfffffff0, queueDepth: 8 },
  );
  const results = await Promise.all(Array.from({ length: 100 }, () => s.execute(tur())));
  expect(results.every((r) => r.status === 0)).toBe(true);
  expect(seen.map((x) => x.cmdSN)).toEqual(Array.from({ length: 100 }, (_, i) => (0xfffffff0 + i) >>> 0));
  expect(s.window.cmdSN).toBe((0xfffffff0 + 100) >>> 0);
  // Login took two StatSNs (0xfffffff8, 0xfffffff9); 100 responses later ExpStatSN has wrapped to 0x5f.
  expect(s.expStatSN).toBe((0xfffffff8 + 2 + 100) >>> 0);
  expect(seen.at(-1)!.expStatSN).toBeLessThan(0x100);
});

test("10 000 commands at queue depth 64, answered out of order, some failed: never two outstanding with one ITT (case 16)", async () => {
  const outstanding = new Set<number>();
  const duplicates: number[] = [];
  let held: ScsiCommand[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const header = (itt: number) => {
    const b = new Uint8Array(48);
    b[0] = Opcode.ScsiCommand;
    new DataView(b.buffer).setUint32(16, itt);
    return b;
  };
  // Answer in bursts, newest first; every 7th ITT fails with CHECK CONDITION, every 11th is rejected.
  const flush = (c: FakeConnection) => {
    clearTimeout(timer);
    for (const h of held.reverse()) {
      outstanding.delete(h.itt);
      if (h.itt % 11 === 0) c.reject(0x09, header(h.itt));
      else if (h.itt % 7 === 0) c.good(h, { status: 2 }, new Uint8Array([0, 4, 0x70, 0, 0x0b, 0]));
      else c.good(h);
    }
    held = [];
  };
  const s = await open(
    {
      window: 128,
      onPdu(c, f) {
        if (f.pdu.opcode !== Opcode.ScsiCommand) return;
        const cmd = f.pdu as ScsiCommand;
        if (outstanding.has(cmd.itt)) duplicates.push(cmd.itt);
        outstanding.add(cmd.itt);
        c.ack(cmd);
        held.push(cmd);
        if (held.length >= 16) flush(c);
        else {
          clearTimeout(timer);
          timer = setTimeout(() => flush(c), 2);
        }
      },
    },
    { queueDepth: 64 },
  );
  const outcomes = await Promise.all(
    Array.from({ length: 10_000 }, () =>
      s.execute(tur()).then(
        (r) => r.status,
        () => -1,
      ),
    ),
  );
  expect(duplicates).toEqual([]);
  expect(outcomes.filter((o) => o === 0).length).toBeGreaterThan(7_500);
  expect(outcomes.filter((o) => o === 2).length).toBeGreaterThan(100);
  expect(outcomes.filter((o) => o === -1).length).toBeGreaterThan(100);
  expect(s.state.kind).toBe("full-feature");
  expect(s.tasks.size).toBe(0);
}, 30_000);

/** A window that never opens (MaxCmdSN = ExpCmdSN − 1 in every PDU); NOP-Out pings are answered and counted. */
function closedWindow(): { opts: FakeTargetOptions; pings: number[]; commands: () => number } {
  const pings: number[] = [];
  let commands = 0;
  const opts: FakeTargetOptions = {
    window: 0,
    onPdu(c, f) {
      if (f.pdu.opcode === Opcode.ScsiCommand) commands++;
      if (f.pdu.opcode === Opcode.NopOut && (f.pdu as NopOut).itt !== RESERVED_TAG) {
        pings.push(performance.now());
        c.send(encodeNopIn({ lun: 0n, itt: (f.pdu as NopOut).itt, ttt: RESERVED_TAG, ...c.seq() }));
      }
    },
  };
  return { opts, pings, commands: () => commands };
}

test("a command held by a window that never opens is probed at once and fails at its command timeout, naming the window", async () => {
  const fake = closedWindow();
  const s = await open(fake.opts, { commandTimeoutMs: 800 });
  const submitted = performance.now();
  const outcome = await s.execute(tur()).then(
    () => undefined,
    (e: Error & { code?: string }) => e,
  );
  expect(outcome?.code).toBe("TIMEOUT");
  expect(outcome?.message).toContain("TEST UNIT READY was not sent within 0.8 s: the command window");
  expect(outcome?.message).toContain("stayed closed");
  expect(fake.commands()).toBe(0);
  // The first probe went out before the timeout (keepalive is off here), and the command had its full time.
  expect(fake.pings[0]! - submitted).toBeLessThan(800);
  expect(performance.now() - submitted).toBeGreaterThanOrEqual(800);
  expect(s.state.kind).toBe("full-feature");
});

test("a Text Request held by a window that never opens times out with the window named", async () => {
  const s = await open(closedWindow().opts);
  const err = await s.requests.text([["SendTargets", "All"]], 400).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err?.message).toMatch(
    /Text: no answer from .* within 400 ms; its command window stayed closed \(ExpCmdSN \d+, MaxCmdSN \d+\)/,
  );
});

test("`iscsi read` against a target whose window stays closed exits with a clear error within the command timeout", async () => {
  const target = FakeTarget.listen(closedWindow().opts);
  const dir = mkdtempSync(join(tmpdir(), "iscsi-window-"));
  try {
    const started = performance.now();
    const main = join(import.meta.dir, "../../src/main.ts");
    const p = Bun.spawn(
      [
        process.execPath,
        main,
        "read",
        `iscsi://127.0.0.1:${target.port}/iqn.2026-11.test:fake/0`,
        "-o",
        join(dir, "out"),
        "--command-timeout",
        "2",
      ],
      {
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, ISCSI_SOCKET: "/nonexistent/iscsi-test.sock" },
      },
    );
    const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(ERROR_CATALOGUE.TIMEOUT.exit);
    expect(stderr).toContain("was not sent within 2 s: the command window of 127.0.0.1:");
    // It ends: the command timeout (2 s) plus process start and the logout, far below the old endless wait.
    expect((performance.now() - started) / 1000).toBeLessThan(20);
  } finally {
    target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
