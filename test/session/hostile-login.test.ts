// A hostile target during login, over real loopback TCP (reliability.md cases 2, 7, 28): a length beyond the
// login limit, a slow drip, every Login Response field bent, the wrong PDU, a cut. Each must fail the login with
// an error naming the field, in bounded time, with no unhandled rejection.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { encodeLoginResponse, encodeNopIn, RESERVED_TAG } from "../../src/pdu/index.ts";
import { Session } from "../../src/session/session.ts";
import { FakeTarget, setDataSegmentLength, type FakeConnection, type FakeTargetOptions } from "../fake/target.ts";
import { expectRejected, UnhandledWatch } from "../fault/outcome.ts";

const watch = new UnhandledWatch();
let target: FakeTarget | undefined;

beforeAll(() => watch.start());
afterAll(() => watch.stop());
afterEach(async () => {
  target?.stop();
  target = undefined;
  await Bun.sleep(5);
  expect(watch.messages).toEqual([]);
});

const LOGIN = {
  initiatorName: "iqn.2026-11.dev.iscsi:hostile",
  targetName: "iqn.2026-11.test:fake",
  sessionType: "Normal" as const,
  auth: { method: "None" as const },
};

function listen(opts: FakeTargetOptions): FakeTarget {
  target?.stop();
  target = FakeTarget.inMemory(opts);
  return target;
}

/** Log in; a session that does come up is closed at once (these tests expect failures). */
async function connect(t: FakeTarget, loginTimeoutMs = 3_000): Promise<Session> {
  const s = await Session.open({
    ...t.endpoint,
    login: LOGIN,
    recovery: { enabled: false, nopIntervalMs: 0, commandTimeoutMs: 0 },
    loginTimeoutMs,
  });
  s.close();
  return s;
}

const nopInBhs = (c: FakeConnection) => encodeNopIn({ lun: 0n, itt: RESERVED_TAG, ttt: RESERVED_TAG, ...c.seq() });

describe("lengths (case 2)", () => {
  test("a Login Response claiming 0xFFFFFF bytes fails the login at once, naming the 8192-byte login limit", async () => {
    const t = listen({
      onLogin(c, f) {
        const bhs = encodeLoginResponse({
          transit: false,
          continue: false,
          csg: 0,
          nsg: 0,
          versionMax: 0,
          versionActive: 0,
          isid: f.pdu.isid,
          tsih: 0,
          itt: f.pdu.itt,
          statSN: 1,
          expCmdSN: f.pdu.cmdSN,
          maxCmdSN: f.pdu.cmdSN,
          statusClass: 0,
          statusDetail: 0,
        });
        c.raw(setDataSegmentLength(bhs, 0xffffff));
        return true;
      },
    });
    await expectRejected(
      connect(t),
      "PROTOCOL",
      /Login Response: DataSegmentLength 16777215 > MaxRecvDataSegmentLength 8192/,
    );
  });
});

describe("slow drip (case 7)", () => {
  test("a Login Response at one byte per 20 ms hits the login timeout for the whole login, not per read", async () => {
    const timers: Array<ReturnType<typeof setTimeout>> = [];
    const t = listen({
      onLogin(c, f) {
        const bytes = c.wire(
          encodeLoginResponse({
            transit: true,
            continue: false,
            csg: 0,
            nsg: 1,
            versionMax: 0,
            versionActive: 0,
            isid: f.pdu.isid,
            tsih: 0,
            itt: f.pdu.itt,
            statSN: 1,
            expCmdSN: f.pdu.cmdSN,
            maxCmdSN: f.pdu.cmdSN,
            statusClass: 0,
            statusDetail: 0,
          }),
        );
        for (let i = 0; i < bytes.length; i++) timers.push(setTimeout(() => c.raw(bytes.subarray(i, i + 1)), 20 * i));
        return true;
      },
    });
    const started = performance.now();
    const err = await Session.open({
      ...t.endpoint,
      login: LOGIN,
      recovery: { enabled: false },
      loginTimeoutMs: 400,
    }).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    for (const timer of timers) clearTimeout(timer);
    expect(err?.code).toBe("TIMEOUT");
    expect(err?.message).toMatch(/timed out after 0.4 s/);
    expect(performance.now() - started).toBeLessThan(900);
  });
});

describe("bent Login Responses over TCP (case 28)", () => {
  const cases: Array<[string, FakeTargetOptions["loginTamper"], string, RegExp]> = [
    ["Version-active 1", (r) => void (r.res.versionActive = 1), "PROTOCOL", /Version-active is 1/],
    ["ISID not echoed", (r) => void (r.res.isid = r.res.isid ^ 1), "PROTOCOL", /ISID .* does not echo ours/],
    ["ITT not ours", (r) => void (r.res.itt = 0x99), "PROTOCOL", /Initiator Task Tag 0x99 is not ours/],
    ["CSG not ours", (r) => void (r.res.csg = r.req.csg === 0 ? 1 : 0), "PROTOCOL", /CSG \d does not match our stage/],
    ["T and C together", (r) => void (r.res.continue = r.res.transit), "PROTOCOL", /both T and C/],
    ["NSG 2", (r) => void (r.final ? undefined : (r.res.nsg = 2)), "PROTOCOL", /T=1 with NSG 2/],
    [
      "TSIH changing mid-login",
      (r) => void (r.final ? undefined : (r.res.tsih = 5)),
      "PROTOCOL",
      /TSIH changed mid-login from 0 to 5/,
    ],
    [
      "TSIH 0 in the final response",
      (r) => void (r.final ? (r.res.tsih = 0) : undefined),
      "PROTOCOL",
      /final response for a new session has TSIH 0/,
    ],
    [
      "status 0x0203 target not found",
      (r) => void Object.assign(r.res, { statusClass: 2, statusDetail: 3 }),
      "LOGIN_FATAL",
      /target not found/,
    ],
    [
      "status 0x0201 authentication failure",
      (r) => void Object.assign(r.res, { statusClass: 2, statusDetail: 1 }),
      "AUTH_FAILED",
      /authentication failure/,
    ],
    [
      "status 0x0301 service unavailable",
      (r) => void Object.assign(r.res, { statusClass: 3, statusDetail: 1 }),
      "LOGIN",
      /service unavailable/,
    ],
    [
      "status class 9",
      (r) => void Object.assign(r.res, { statusClass: 9, statusDetail: 0 }),
      "PROTOCOL",
      /unknown login status 0x09/,
    ],
    [
      "redirect without TargetAddress",
      (r) => void Object.assign(r.res, { statusClass: 1, statusDetail: 1 }),
      "PROTOCOL",
      /carries 0 TargetAddress keys/,
    ],
    [
      "MaxRecvDataSegmentLength=0",
      (r) => void r.pairs.push(["MaxRecvDataSegmentLength", "0"]),
      "PROTOCOL",
      /MaxRecvDataSegmentLength/,
    ],
    [
      "a key twice",
      (r) => void (r.final ? r.pairs.push(["MaxBurstLength", "4096"]) : undefined),
      "PROTOCOL",
      /MaxBurstLength/,
    ],
    [
      "a digest we did not offer",
      (r) => void (r.final ? r.pairs.push(["HeaderDigest", "CRC32C"]) : undefined),
      "PROTOCOL",
      /HeaderDigest/,
    ],
  ];
  for (const [name, loginTamper, code, message] of cases) {
    test(name, async () => {
      await expectRejected(connect(listen({ loginTamper })), code, message);
    });
  }

  test("a NOP-In instead of a Login Response", async () => {
    const t = listen({ onLogin: (c) => (c.send(nopInBhs(c)), true) });
    await expectRejected(connect(t), "PROTOCOL", /expected a Login Response during login, got opcode 0x20/);
  });

  test("half a Login Response then FIN, and RST before any answer: TRANSPORT", async () => {
    const half = listen({
      onLogin: (c, f) => (
        c.truncated(
          encodeLoginResponse({
            transit: false,
            continue: false,
            csg: 0,
            nsg: 0,
            versionMax: 0,
            versionActive: 0,
            isid: f.pdu.isid,
            tsih: 0,
            itt: 0,
            statSN: 0,
            expCmdSN: 0,
            maxCmdSN: 0,
            statusClass: 0,
            statusDetail: 0,
          }),
          30,
        ),
        true
      ),
    });
    await expectRejected(connect(half), "TRANSPORT", /closed/);
    const rst = listen({ onLogin: (c) => (c.reset(), true) });
    await expectRejected(connect(rst), "TRANSPORT", /reset|lost|closed/);
  });
});
