// Login without CHAP against a scripted target: stages, request fields, C bit, redirect, status classes and the
// Login Response checks of RFC 7143 §6.3, §11.12, §11.13 (reliability checklist cases 19–21, 27–30).

import { describe, expect, test } from "bun:test";
import { LoginRedirect, LoginRejected, login, type LoginParams } from "../../src/login/login.ts";
import { parseTextKeys } from "../../src/pdu/text.ts";
import { FakeTarget, rejection, type TargetConfig } from "./fake-target.ts";

const TARGET = "iqn.2024-01.org.example:target";
const BASE: LoginParams = {
  initiatorName: "iqn.2024-01.org.example:initiator",
  targetName: TARGET,
  sessionType: "Normal",
  isid: 0x023d00000001,
  tsih: 0,
  cid: 0,
  initialCmdSN: 0xfffffff0,
  auth: { method: "None" },
};
const run = (config: TargetConfig = {}, params: Partial<LoginParams> = {}) => {
  const target = new FakeTarget(config);
  return { target, result: login(target, { ...BASE, ...params }) };
};

describe("AuthMethod=None, Normal session", () => {
  test("two exchanges, the right fields, one frozen Negotiated record", async () => {
    const { target, result } = run({ answers: { TargetPortalGroupTag: "1", TargetAlias: "disk" } });
    const n = await result;
    expect(target.requests).toHaveLength(2);
    const [sec, op] = target.requests.map((r) => r.pdu);
    expect(sec).toMatchObject({
      csg: 0,
      nsg: 1,
      transit: true,
      continue: false,
      versionMax: 0,
      versionMin: 0,
      immediate: true,
      itt: 0,
      isid: BASE.isid,
      tsih: 0,
      cid: 0,
      cmdSN: 0xfffffff0,
      expStatSN: 0,
    });
    expect(op).toMatchObject({ csg: 1, nsg: 3, transit: true, itt: 0, cmdSN: 0xfffffff0, expStatSN: 101 });
    expect(target.sentPairs[0]).toEqual([
      ["InitiatorName", BASE.initiatorName],
      ["SessionType", "Normal"],
      ["TargetName", TARGET],
      ["AuthMethod", "None"],
    ]);
    expect(target.sentPairs[1]?.map(([k]) => k)).toContain("MaxBurstLength");
    expect(Object.isFrozen(n)).toBe(true);
    expect(n).toEqual({
      sessionType: "Normal",
      tsih: 0x1234,
      authMethod: "None",
      headerDigest: false,
      dataDigest: false,
      maxRecvDataSegmentLength: 262144,
      maxXmitDataSegmentLength: 65536,
      maxBurstLength: 262144,
      firstBurstLength: 65536,
      initialR2T: false,
      immediateData: true,
      maxOutstandingR2T: 1,
      dataPDUInOrder: true,
      dataSequenceInOrder: true,
      errorRecoveryLevel: 0,
      defaultTime2Wait: 2,
      defaultTime2Retain: 20,
      maxConnections: 1,
      targetAlias: "disk",
      targetPortalGroupTag: 1,
      cmdSN: 0xfffffff0,
      expStatSN: 102,
      expCmdSN: 0xfffffff0,
      maxCmdSN: 0x10,
    });
  });
  test("StatSN wraps: ExpStatSN follows modulo 2^32", async () => {
    const { target, result } = run({ statSN: 0xffffffff });
    expect((await result).expStatSN).toBe(1);
    expect(target.requests[1]?.pdu.expStatSN).toBe(0);
  });
  test("InitiatorAlias goes in the first request; a T=0 reply is followed by another T=1 request", async () => {
    const { target, result } = run(
      {
        tamper: (r) => {
          if (r.step === 1) {
            r.res.transit = false;
            r.res.tsih = 0;
          }
        },
      },
      { initiatorAlias: "host one" },
    );
    await result;
    expect(target.sentPairs[0]).toContainEqual(["InitiatorAlias", "host one"]);
    expect(target.requests).toHaveLength(3);
    expect(target.requests[2]?.pdu).toMatchObject({ csg: 1, nsg: 3, transit: true });
    expect(target.requests[2]?.data).toHaveLength(0);
  });
  test("unknown keys in a non-final response are answered NotUnderstood in our next request", async () => {
    const { target, result } = run({
      tamper: (r) => {
        if (r.step === 0) r.pairs.push(["X-com.example.Foo", "1"], ["X#Bar", "2"]);
      },
    });
    await result;
    expect(target.sentPairs[1]?.slice(0, 2)).toEqual([
      ["X-com.example.Foo", "NotUnderstood"],
      ["X#Bar", "NotUnderstood"],
    ]);
  });
  test("the target's offers are answered with the result (case 20)", async () => {
    const { target, result } = run({
      tamper: (r) => {
        if (r.step === 0) r.pairs.push(["MaxBurstLength", "65536"]);
      },
    });
    expect((await result).maxBurstLength).toBe(65536);
    expect(target.sentPairs[1]?.[0]).toEqual(["MaxBurstLength", "65536"]);
    expect(target.sentPairs[1]?.filter(([k]) => k === "MaxBurstLength")).toHaveLength(1);
  });
  test("new keys proposed in the final response fail: we have no turn left to answer", async () => {
    await rejection(run({ answers: { "X-late": "1" } }).result, "PROTOCOL", /proposed X-late in its final response/);
  });
  test("a key sent twice across PDUs fails (case 19)", async () => {
    const config: TargetConfig = {
      tamper: (r) => {
        if (r.step <= 1) r.pairs.push(["TargetAlias", "a"]);
      },
    };
    await rejection(
      run(config).result,
      "PROTOCOL",
      new RegExp(`^login to ${TARGET} in LoginOperationalNegotiation: target sent TargetAlias twice`),
    );
  });
  test("negotiation errors name the target, the stage and the key", async () => {
    await rejection(
      run({ answers: { MaxBurstLength: "99999999" } }).result,
      "PROTOCOL",
      /^login to iqn.2024-01.org.example:target in LoginOperationalNegotiation: .*MaxBurstLength="99999999" is outside/,
    );
    await rejection(
      run({ answers: { FirstBurstLength: "262144", MaxBurstLength: "65536" } }).result,
      "PROTOCOL",
      /FirstBurstLength=262144 exceeds MaxBurstLength=65536/,
    );
  });
  test("AuthMethod refused or unanswered", async () => {
    await rejection(
      run({ auth: { method: "CHAP", username: "u", secret: new Uint8Array(12) } }).result,
      "AUTH_FAILED",
      /offered only AuthMethod=None and the target answered AuthMethod="Reject"/,
    );
    await rejection(
      run({
        tamper: (r) => {
          if (r.step === 0) r.pairs.length = 0;
        },
      }).result,
      "AUTH_FAILED",
      /did not answer AuthMethod/,
    );
    await rejection(
      run({
        tamper: (r) => {
          if (r.step === 0) r.pairs.push(["CHAP_A", "5"]);
        },
      }).result,
      "PROTOCOL",
      /CHAP_A out of turn/,
    );
  });
});

describe("Discovery session", () => {
  test("offers only digests and MaxRecvDataSegmentLength; operational offers answered Irrelevant; TSIH 0 tolerated", async () => {
    const config: TargetConfig = {
      tsih: 0,
      tamper: (r) => {
        if (r.step === 0) r.pairs.push(["InitialR2T", "Yes"], ["MaxBurstLength", "4096"]);
      },
    };
    const { target, result } = run(config, { sessionType: "Discovery", targetName: undefined });
    const n = await result;
    expect(target.sentPairs[0]).toEqual([
      ["InitiatorName", BASE.initiatorName],
      ["SessionType", "Discovery"],
      ["AuthMethod", "None"],
    ]);
    expect(target.sentPairs[1]).toEqual([
      ["InitialR2T", "Irrelevant"],
      ["MaxBurstLength", "Irrelevant"],
      ["HeaderDigest", "None,CRC32C"],
      ["DataDigest", "None,CRC32C"],
      ["MaxRecvDataSegmentLength", "262144"],
    ]);
    expect(n).toMatchObject({
      sessionType: "Discovery",
      tsih: 0,
      maxBurstLength: 262144,
      initialR2T: true,
      maxXmitDataSegmentLength: 65536,
    });
  });
});

describe("C-bit continuation (case 27)", () => {
  test("the target's text in ~100 pieces is pulled with empty requests of the same stage and T", async () => {
    const { target, result } = run({ chunk: 3, answers: { TargetAlias: "a".repeat(40) } });
    const n = await result;
    expect(n.targetAlias).toBe("a".repeat(40));
    const pulls = target.requests.filter((r) => r.pdu.csg === 1 && r.data.length === 0);
    expect(pulls.length).toBeGreaterThanOrEqual(100);
    for (const pull of pulls) expect(pull.pdu).toMatchObject({ transit: true, continue: false, nsg: 3 });
  });
  test("our own text over 8192 bytes goes in C=1 pieces of at most 8192", async () => {
    const keys = Array.from({ length: 150 }, (_, i) => [`X-${"k".repeat(55)}${i}`, "1"] as [string, string]);
    const { target, result } = run({
      tamper: (r) => {
        if (r.step === 0) r.pairs.push(...keys);
      },
    });
    await result;
    const op = target.requests.filter((r) => r.pdu.csg === 1);
    expect(op[0]?.pdu).toMatchObject({ continue: true, transit: false });
    expect(op[0]?.data.length).toBe(8192);
    expect(op[1]?.pdu).toMatchObject({ continue: false, transit: true, nsg: 3 });
    const whole = parseTextKeys(Buffer.concat([op[0]?.data ?? new Uint8Array(), op[1]?.data ?? new Uint8Array()]));
    expect(whole.filter(([, v]) => v === "NotUnderstood")).toHaveLength(150);
  });
  test("a non-empty answer to one of our C=1 pieces fails", async () => {
    const keys = Array.from({ length: 150 }, (_, i) => [`X-${"k".repeat(55)}${i}`, "1"] as [string, string]);
    const target = new FakeTarget({
      tamper: (r) => {
        if (r.step === 0) r.pairs.push(...keys);
      },
    });
    const meddler = {
      async exchange(...args: Parameters<FakeTarget["exchange"]>) {
        const reply = await target.exchange(...args);
        return args[0].continue ? { ...reply, data: new TextEncoder().encode("A=1\0") } : reply;
      },
    };
    await rejection(login(meddler, BASE), "PROTOCOL", /answered our continued request with a non-empty response/);
  });
  test("never-ending text is cut at 64 KiB", async () => {
    await rejection(
      run({ endless: true }).result,
      "PROTOCOL",
      /login response text continued \(C bit\) past 65536 bytes/,
    );
  });
  test("never-ending empty C=1 or T=0 replies are cut after 256 exchanges", async () => {
    await rejection(
      run({
        tamper: (r) => {
          r.res.continue = true;
          r.res.transit = false;
        },
      }).result,
      "PROTOCOL",
      /did not finish within 256 exchanges/,
    );
    await rejection(
      run({
        tamper: (r) => {
          r.res.transit = false;
        },
      }).result,
      "PROTOCOL",
      /did not finish within 256 exchanges/,
    );
  });
});

describe("Login Response checks (case 28)", () => {
  const broken: Array<[string, TargetConfig["tamper"], RegExp]> = [
    [
      "T=1 with NSG = CSG",
      (r) => {
        if (r.step === 1) r.res.nsg = 1;
      },
      /T=1 with NSG 1 from CSG 1/,
    ],
    [
      "T=1 with NSG < CSG",
      (r) => {
        if (r.step === 1) r.res.nsg = 0;
      },
      /T=1 with NSG 0 from CSG 1/,
    ],
    [
      "NSG=2",
      (r) => {
        if (r.step === 1) r.res.nsg = 2;
      },
      /T=1 with NSG 2/,
    ],
    [
      "NSG beyond what we asked",
      (r) => {
        if (r.step === 0) r.res.nsg = 3;
      },
      /T=1 with NSG 3 from CSG 0 \(we asked for 1\)/,
    ],
    [
      "CSG mismatch",
      (r) => {
        if (r.step === 0) r.res.csg = 1;
      },
      /CSG 1 does not match our stage 0/,
    ],
    [
      "T and C together",
      (r) => {
        if (r.step === 0) r.res.continue = true;
      },
      /both T and C/,
    ],
    [
      "Version-active 1",
      (r) => {
        r.res.versionActive = 1;
      },
      /Version-active is 1/,
    ],
    [
      "ISID not echoed",
      (r) => {
        r.res.isid = 0x023d00000000;
      },
      /ISID 0x23d00000000 does not echo ours 0x23d00000001/,
    ],
    [
      "ITT changed",
      (r) => {
        if (r.step === 1) r.res.itt = 7;
      },
      /Initiator Task Tag 0x7/,
    ],
    [
      "TSIH changes mid-login",
      (r) => {
        if (r.step === 0) r.res.tsih = 9;
      },
      /TSIH changed mid-login from 0 to 9/,
    ],
    [
      "TSIH 0 on final success",
      (r) => {
        if (r.step === 1) r.res.tsih = 0;
      },
      /final response for a new session has TSIH 0/,
    ],
    [
      "wrong opcode",
      (r) => {
        (r.res as { opcode: number }).opcode = 0x24;
      },
      /expected a Login Response, got opcode 0x24/,
    ],
    [
      "data segment over 8192",
      (r) => {
        if (r.step === 1)
          r.pairs.push(
            ["TargetAlias", "x".repeat(200)],
            ...Array.from({ length: 40 }, (_, i) => [`X-k${i}`, "v".repeat(200)] as [string, string]),
          );
      },
      /8192/,
    ],
  ];
  for (const [name, tamper, message] of broken) {
    test(name, async () => {
      await rejection(run({ chunk: 65536, tamper }).result, "PROTOCOL", message);
    });
  }
  test("reinstatement: the final TSIH must be ours", async () => {
    await rejection(
      run(
        {
          tamper: (r) => {
            if (r.step === 1) r.res.tsih = 99;
          },
        },
        { tsih: 7 },
      ).result,
      "PROTOCOL",
      /TSIH 99 in the final response is not our 7/,
    );
    expect((await run({ tsih: 7 }, { tsih: 7 }).result).tsih).toBe(7);
  });
});

describe("status classes (cases 29, 30)", () => {
  const status = (cls: number, detail: number, pairs: Array<[string, string]> = []): TargetConfig => ({
    tamper: (r) => {
      if (r.step === 0) {
        r.res.statusClass = cls;
        r.res.statusDetail = detail;
        r.res.transit = false;
        r.pairs.splice(0, r.pairs.length, ...pairs);
      }
    },
  });
  test("redirect, temporary and permanent, carries the parsed TargetAddress", async () => {
    const temp = await rejection(
      run(status(1, 1, [["TargetAddress", "10.9.8.7:3261,2"]])).result,
      "LOGIN",
      /moved temporarily to 10.9.8.7:3261/,
    );
    expect(temp).toBeInstanceOf(LoginRedirect);
    expect((temp as LoginRedirect).address).toEqual({ host: "10.9.8.7", port: 3261, portalGroupTag: 2 });
    expect((temp as LoginRedirect).permanent).toBe(false);
    const perm = await rejection(
      run(status(1, 2, [["TargetAddress", "[2001:db8::1]"]])).result,
      "LOGIN",
      /permanently to 2001:db8::1:3260/,
    );
    expect((perm as LoginRedirect).permanent).toBe(true);
    expect(perm.message).toMatch(`login to ${TARGET} in SecurityNegotiation`);
  });
  test("malformed or missing redirect addresses", async () => {
    await rejection(
      run(status(1, 1, [["TargetAddress", "[::1"]])).result,
      "PROTOCOL",
      /TargetAddress="\[::1": unclosed/,
    );
    await rejection(run(status(1, 1, [["TargetAddress", "host:99999,x"]])).result, "PROTOCOL", /port 99999/);
    await rejection(run(status(1, 1)).result, "PROTOCOL", /carries 0 TargetAddress keys/);
    await rejection(
      run(status(1, 3, [["TargetAddress", "h"]])).result,
      "PROTOCOL",
      /redirect with unknown status 0x01\/0x03/,
    );
  });
  const class2: Array<[number, string, string]> = [
    [0x00, "initiator error", "LOGIN_FATAL"],
    [0x01, "authentication failure", "AUTH_FAILED"],
    [0x02, "authorization failure", "AUTH_FAILED"],
    [0x03, "target not found", "LOGIN_FATAL"],
    [0x04, "target removed", "LOGIN_FATAL"],
    [0x05, "unsupported version", "LOGIN_FATAL"],
    [0x06, "too many connections", "LOGIN_FATAL"],
    [0x07, "missing parameter", "LOGIN_FATAL"],
    [0x08, "can't include in session", "LOGIN_FATAL"],
    [0x09, "session type not supported", "LOGIN_FATAL"],
    [0x0a, "session does not exist", "LOGIN_FATAL"],
    [0x0b, "invalid during login", "LOGIN_FATAL"],
    [0x0c, "unknown initiator error", "LOGIN_FATAL"],
  ];
  for (const [detail, name, code] of class2) {
    test(`class 2 detail ${detail}: ${name} → ${code}`, async () => {
      const err = await rejection(
        run(status(2, detail)).result,
        code,
        new RegExp(`${name} \\(status 0x02/0x${detail.toString(16).padStart(2, "0")}\\)`),
      );
      expect(err).toBeInstanceOf(LoginRejected);
      expect((err as LoginRejected).statusDetail).toBe(detail);
    });
  }
  for (const [detail, name] of [
    [1, "service unavailable"],
    [2, "out of resources"],
    [0, "target error"],
  ] as const) {
    test(`class 3 detail ${detail}: ${name} → LOGIN (retryable)`, async () => {
      const err = await rejection(run(status(3, detail)).result, "LOGIN", new RegExp(`${name} .*retry later`));
      expect((err as LoginRejected).statusClass).toBe(3);
    });
  }
  test("unknown class", async () => {
    await rejection(run(status(4, 0)).result, "PROTOCOL", /unknown login status 0x04\/0x00/);
  });
  test("a rejection in the operational stage names that stage", async () => {
    const config: TargetConfig = {
      tamper: (r) => {
        if (r.step === 1) {
          r.res.statusClass = 2;
          r.res.statusDetail = 7;
          r.res.transit = false;
        }
      },
    };
    await rejection(run(config).result, "LOGIN_FATAL", /in LoginOperationalNegotiation: .*missing parameter/);
  });
});

describe("parameters", () => {
  const bad: Array<[string, Partial<LoginParams>, RegExp]> = [
    ["Normal without TargetName", { targetName: undefined }, /TargetName is empty/],
    ["Discovery with TargetName", { sessionType: "Discovery" }, /Discovery session takes no TargetName/],
    ["ISID over 48 bits", { isid: 2 ** 48 }, /ISID/],
    ["CID over 16 bits", { cid: 65536 }, /CID/],
    ["CmdSN over 32 bits", { initialCmdSN: 2 ** 32 }, /CmdSN/],
    ["InitiatorName with a space", { initiatorName: "iqn.x y" }, /InitiatorName contains a space/],
    ["InitiatorName over 223 bytes", { initiatorName: `iqn.${"a".repeat(220)}` }, /longer than 223/],
    [
      "FirstBurstLength over MaxBurstLength",
      { proposal: { firstBurstLength: 1 << 20, maxBurstLength: 1 << 19 } },
      /FirstBurstLength=1048576 exceeds/,
    ],
    [
      "MaxRecvDataSegmentLength out of range",
      { proposal: { maxRecvDataSegmentLength: 100 } },
      /MaxRecvDataSegmentLength=100 is outside/,
    ],
  ];
  for (const [name, params, message] of bad) {
    test(name, async () => {
      const { target, result } = run({}, params);
      await rejection(result, "CONFIG", message);
      expect(target.requests).toHaveLength(0);
    });
  }
  test("the proposal reaches the wire", async () => {
    const { target, result } = run(
      {},
      { proposal: { headerDigest: ["CRC32C", "None"], maxBurstLength: 65536, firstBurstLength: 65536 } },
    );
    const n = await result;
    expect(n.headerDigest).toBe(true);
    const sent = parseTextKeys(target.requests[1]?.data ?? new Uint8Array());
    expect(sent).toContainEqual(["HeaderDigest", "CRC32C,None"]);
    expect(sent).toContainEqual(["MaxBurstLength", "65536"]);
  });
});
