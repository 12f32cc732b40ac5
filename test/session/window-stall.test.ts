// A target that keeps the CmdSN window closed from login on (MaxCmdSN = ExpCmdSN − 1 in every PDU,
// RFC 7143 §4.2.2.1): commands that cannot be sent are probed for at once with an immediate NOP-Out and fail
// with an error naming the closed window when their command timeout, counted from submission, runs out.
// Also through the CLI: `iscsi read` ends with that error instead of waiting silently.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeNopIn, Opcode, RESERVED_TAG, type NopOut } from "../../src/pdu/index.ts";
import { Session } from "../../src/session/session.ts";
import { ERROR_CATALOGUE } from "../../src/contract/errors.ts";
import { FakeTarget, type FakeConnection } from "../fake/target.ts";
import type { Frame } from "../../src/pdu/types.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
let target: FakeTarget | undefined;
let session: Session | undefined;
afterEach(() => {
  session?.close();
  target?.stop();
  session = target = undefined;
});

/** A fake whose window never opens; it answers NOP-Out pings (with the window still closed) and counts them. */
function closedWindowTarget(): { target: FakeTarget; pings: number[]; commands: number } {
  const seen = { target: undefined as unknown as FakeTarget, pings: [] as number[], commands: 0 };
  seen.target = FakeTarget.listen({
    window: 0,
    onPdu(c: FakeConnection, f: Frame) {
      if (f.pdu.opcode === Opcode.ScsiCommand) seen.commands++;
      if (f.pdu.opcode === Opcode.NopOut && (f.pdu as NopOut).itt !== RESERVED_TAG) {
        seen.pings.push(performance.now());
        c.send(encodeNopIn({ lun: 0n, itt: (f.pdu as NopOut).itt, ttt: RESERVED_TAG, ...c.seq() }));
      }
    },
  });
  return seen;
}

test("a command held by a closed window is probed at once and fails at its command timeout with an error naming the window", async () => {
  const fake = closedWindowTarget();
  target = fake.target;
  session = await Session.open({
    portal: { host: "127.0.0.1", port: target.port },
    login: { initiatorName: "iqn.2026-11.dev.iscsi:window", targetName: "iqn.2026-11.test:fake", sessionType: "Normal", auth: { method: "None" } },
    recovery: { enabled: false, nopIntervalMs: 0, commandTimeoutMs: 800 },
  });
  const submitted = performance.now();
  const outcome = await session.execute({ lun: 0, cdb: new Uint8Array(6), direction: "none", transferLength: 0, name: "TEST UNIT READY" }).then(
    () => undefined,
    (e: Error & { code?: string }) => e,
  );
  const failedAfter = performance.now() - submitted;
  expect(outcome?.code).toBe("TIMEOUT");
  expect(outcome?.message).toContain("TEST UNIT READY was not sent within 0.8 s: the command window");
  expect(outcome?.message).toContain("stayed closed");
  expect(fake.commands).toBe(0);
  // The first probe went out before the timeout, not after a keepalive interval (keepalive is off here).
  expect(fake.pings.length).toBeGreaterThan(0);
  expect(fake.pings[0]! - submitted).toBeLessThan(800);
  // Not before its timeout: the command had its full time to be sent.
  expect(failedAfter).toBeGreaterThanOrEqual(800);
  expect(session.state.kind).toBe("full-feature");
});

test("a Text Request held by a closed window times out with the window named", async () => {
  target = closedWindowTarget().target;
  session = await Session.open({
    portal: { host: "127.0.0.1", port: target.port },
    login: { initiatorName: "iqn.2026-11.dev.iscsi:window", targetName: "iqn.2026-11.test:fake", sessionType: "Normal", auth: { method: "None" } },
    recovery: { enabled: false, nopIntervalMs: 0, commandTimeoutMs: 0 },
  });
  const err = await session.requests.text([["SendTargets", "All"]], 400).then(() => undefined, (e: Error) => e);
  expect(err?.message).toMatch(/Text: no answer from .* within 400 ms; its command window stayed closed \(ExpCmdSN \d+, MaxCmdSN \d+\)/);
});

test("`iscsi read` against a target whose window stays closed exits with a clear error within the command timeout", async () => {
  target = closedWindowTarget().target;
  const dir = mkdtempSync(join(tmpdir(), "iscsi-window-"));
  try {
    const started = performance.now();
    const p = Bun.spawn([process.execPath, MAIN, "read", `iscsi://127.0.0.1:${target.port}/iqn.2026-11.test:fake/0`, "-o", join(dir, "out"), "--command-timeout", "2"], {
      stdout: "pipe", stderr: "pipe", env: { ...process.env, ISCSI_SOCKET: "/nonexistent/iscsi-test.sock" },
    });
    const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    const seconds = (performance.now() - started) / 1000;
    expect(code).toBe(ERROR_CATALOGUE.TIMEOUT.exit);
    expect(stderr).toContain("was not sent within 2 s: the command window of 127.0.0.1:");
    // It ends: the command timeout (2 s) plus process start and the logout, far below the old endless wait.
    expect(seconds).toBeLessThan(20);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
