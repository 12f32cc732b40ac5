// CHAP logins against a scripted target, RFC 7143 §12.1.3 and the security rules of §9.2.1: one-way and mutual,
// every algorithm, bad values, reflection, identical secrets, downgrades (reliability checklist cases 32–41).

import { describe, expect, test } from "bun:test";
import { chapAlgorithm } from "../../src/login/chap.ts";
import { ChapAlgorithmRejected, login, type ChapParams, type LoginParams } from "../../src/login/login.ts";
import { FakeTarget, ascii, rejection, type TargetConfig } from "./fake-target.ts";

const SECRET = ascii("initiator-secret-1");
const TARGET_SECRET = ascii("target-secret-22");
const BASE: LoginParams = {
  initiatorName: "iqn.2024-01.org.example:initiator",
  targetName: "iqn.2024-01.org.example:target",
  sessionType: "Normal",
  isid: 0x023d00000001,
  tsih: 0,
  cid: 0,
  initialCmdSN: 1,
  auth: { method: "None" },
};
const oneWay: ChapParams = { method: "CHAP", username: "alice", secret: SECRET };
const mutual: ChapParams = { ...oneWay, mutual: { username: "tgt", secret: TARGET_SECRET } };
const targetAuth = (extra: Partial<Extract<TargetConfig["auth"], { method: "CHAP" }>> = {}): TargetConfig["auth"] => ({
  method: "CHAP",
  username: "alice",
  secret: SECRET,
  mutual: { username: "tgt", secret: TARGET_SECRET },
  ...extra,
});

const run = (auth: ChapParams, config: TargetConfig = {}, params: Partial<LoginParams> = {}) => {
  const target = new FakeTarget({ auth: targetAuth(), ...config });
  return { target, result: login(target, { ...BASE, auth, ...params }) };
};
/** Replaces a key's value (or drops it with undefined) in the response at `step`. */
const setKey =
  (step: number, key: string, value: string | undefined): TargetConfig["tamper"] =>
  (r) => {
    if (r.step !== step) return;
    const i = r.pairs.findIndex(([k]) => k === key);
    if (value === undefined) r.pairs.splice(i, 1);
    else if (i >= 0) r.pairs[i] = [key, value];
    else r.pairs.push([key, value]);
  };

describe("one-way CHAP", () => {
  test("the exchange on the wire: AuthMethod, CHAP_A list, CHAP_N/CHAP_R, then T=1", async () => {
    const { target, result } = run(oneWay);
    const n = await result;
    expect(n).toMatchObject({ authMethod: "CHAP", chapAlgorithm: 7, tsih: 0x1234 });
    const sent = target.sentPairs;
    expect(sent[0]?.at(-1)).toEqual(["AuthMethod", "CHAP"]);
    expect(target.requests[0]?.pdu).toMatchObject({ csg: 0, transit: false });
    expect(sent[1]).toEqual([["CHAP_A", "7,8,6,5"]]);
    expect(target.requests[1]?.pdu).toMatchObject({ csg: 0, transit: false });
    expect(sent[2]?.map(([k]) => k)).toEqual(["CHAP_N", "CHAP_R"]);
    expect(sent[2]?.[1]?.[1]).toMatch(/^0x[0-9a-f]{64}$/);
    expect(target.requests[2]?.pdu).toMatchObject({ csg: 0, transit: true, nsg: 1 });
    expect(target.requests[3]?.pdu).toMatchObject({ csg: 1, transit: true, nsg: 3 });
  });
  for (const alg of [5, 6, 7, 8]) {
    test(`algorithm ${alg} (${chapAlgorithm(alg).name}) end to end`, async () => {
      const n = await run(oneWay, { auth: targetAuth({ algorithm: alg }) }).result;
      expect(n.chapAlgorithm).toBe(alg);
    });
  }
  test("MD5-off mode offers only what is configured", async () => {
    const { target, result } = run({ ...oneWay, algorithms: [8, 7] });
    expect((await result).chapAlgorithm).toBe(8);
    expect(target.sentPairs[1]).toEqual([["CHAP_A", "8,7"]]);
  });
  test("a wrong secret: the target's authentication failure is AUTH_FAILED", async () => {
    const err = await rejection(
      run({ ...oneWay, secret: ascii("not-the-secret!"), algorithms: [5] }).result,
      "AUTH_FAILED",
      /authentication failure/,
    );
    expect(err.message).not.toContain("not-the-secret");
  });
  test("a refused response to a stronger hash asks the caller for one MD5-only retry (QUIRK tgt: CHAP_A=7 is SHA-1 there)", async () => {
    const err = await rejection(
      run({ ...oneWay, secret: ascii("not-the-secret!") }).result,
      "AUTH_FAILED",
      /refused our CHAP_A=7 response/,
    );
    expect(err).toBeInstanceOf(ChapAlgorithmRejected);
    expect((err as ChapAlgorithmRejected).retryWithMd5Only).toBe(true);
  });
  test("CHAP_C in base64 and hex, 1 and 1024 bytes (cases 34, 41)", async () => {
    const big = Uint8Array.from({ length: 1024 }, (_, i) => i * 7);
    await run(oneWay, { challenge: Uint8Array.of(9) }).result;
    await run(oneWay, { challenge: big }).result;
    const b64 = (bytes: Uint8Array) => setKey(1, "CHAP_C", `0b${Buffer.from(bytes).toString("base64")}`);
    await run(oneWay, { challenge: big, tamper: b64(big) }).result;
    await run(oneWay, { challenge: Uint8Array.of(9), tamper: b64(Uint8Array.of(9)) }).result;
  });
  test("CHAP_I 0 and 255 accepted (case 33)", async () => {
    await run(oneWay, { identifier: 0 }).result;
    await run(oneWay, { identifier: 255 }).result;
  });
});

describe("bad CHAP values from the target (cases 32–34)", () => {
  const bad: Array<[string, string, string | undefined, RegExp]> = [
    ["CHAP_A not offered", "CHAP_A", "9", /chose CHAP_A=9, which we did not offer \(7,8,6,5\)/],
    ["CHAP_A a list", "CHAP_A", "7,5", /CHAP_A with a list "7,5"/],
    ["CHAP_A non-numeric", "CHAP_A", "MD5", /CHAP_A="MD5" is not a number/],
    ["CHAP_A missing", "CHAP_A", undefined, /did not send CHAP_A/],
    ["CHAP_I 256", "CHAP_I", "256", /CHAP_I="256" is outside 0–255/],
    ["CHAP_I negative", "CHAP_I", "-1", /CHAP_I="-1" is not a number/],
    ["CHAP_I empty", "CHAP_I", "", /CHAP_I="" is not a number/],
    ["CHAP_I non-numeric", "CHAP_I", "one", /CHAP_I="one"/],
    ["CHAP_I missing", "CHAP_I", undefined, /did not send CHAP_I/],
    ["CHAP_C empty", "CHAP_C", "0x", /CHAP_C is empty/],
    ["CHAP_C 1025 bytes", "CHAP_C", `0x${"ab".repeat(1025)}`, /over 2050|over 1024/],
    ["CHAP_C odd hex", "CHAP_C", "0xabc", /odd number of hex digits/],
    ["CHAP_C bad hex", "CHAP_C", "0xgg", /non-hex/],
    ["CHAP_C bad base64", "CHAP_C", "0b!!!!", /not valid base64/],
    ["CHAP_C stray nibble in base64", "CHAP_C", "0bQR==", /not canonical/],
    ["CHAP_C without prefix", "CHAP_C", "abcd", /neither 0x-hex nor 0b-base64/],
  ];
  for (const [name, key, value, message] of bad) {
    test(name, async () => {
      const { target, result } = run(oneWay, { tamper: setKey(1, key, value) });
      await rejection(result, "PROTOCOL", message);
      expect(target.requests).toHaveLength(2); // nothing answered after the bad value
    });
  }
  test("a security key out of turn", async () => {
    await rejection(run(oneWay, { tamper: setKey(0, "CHAP_C", "0x01") }).result, "PROTOCOL", /CHAP_C out of turn/);
  });
});

describe("CHAP_A refusal and the MD5-only retry", () => {
  test("CHAP_A=Reject: ChapAlgorithmRejected with retryWithMd5Only; a retry offering [5] succeeds", async () => {
    const err = await rejection(
      run(oneWay, { tamper: setKey(1, "CHAP_A", "Reject") }).result,
      "AUTH_FAILED",
      /rejected our CHAP_A=7,8,6,5/,
    );
    expect(err).toBeInstanceOf(ChapAlgorithmRejected);
    expect((err as ChapAlgorithmRejected).retryWithMd5Only).toBe(true);
    const retry = run({ ...oneWay, algorithms: [5] });
    expect((await retry.result).chapAlgorithm).toBe(5);
    expect(retry.target.sentPairs[1]).toEqual([["CHAP_A", "5"]]);
  });
  test("an authentication failure right after the CHAP_A list is the same signal", async () => {
    const tamper: TargetConfig["tamper"] = (r) => {
      if (r.step === 1) {
        r.res.statusClass = 2;
        r.res.statusDetail = 1;
        r.pairs.length = 0;
      }
    };
    const err = await rejection(
      run(oneWay, { tamper }).result,
      "AUTH_FAILED",
      /failed the login on our CHAP_A=7,8,6,5/,
    );
    expect((err as ChapAlgorithmRejected).retryWithMd5Only).toBe(true);
  });
  test("no MD5 retry when MD5 was already alone or is switched off", async () => {
    for (const algorithms of [[5], [7, 8]]) {
      const err = await rejection(
        run({ ...oneWay, algorithms }, { tamper: setKey(1, "CHAP_A", "Reject") }).result,
        "AUTH_FAILED",
        /rejected/,
      );
      expect((err as ChapAlgorithmRejected).retryWithMd5Only).toBe(false);
    }
  });
});

describe("mutual CHAP (cases 35, 36, 38)", () => {
  test("success: our CHAP_I/CHAP_C go with CHAP_N/CHAP_R; challenge length = digest length", async () => {
    for (const alg of [5, 6, 7, 8]) {
      const { target, result } = run(mutual, { auth: targetAuth({ algorithm: alg }) });
      expect((await result).chapAlgorithm).toBe(alg);
      const sent = new Map(target.sentPairs[2]);
      expect([...sent.keys()]).toEqual(["CHAP_N", "CHAP_R", "CHAP_I", "CHAP_C"]);
      expect(sent.get("CHAP_C")).toMatch(new RegExp(`^0x[0-9a-f]{${2 * chapAlgorithm(alg).size}}$`));
    }
  });
  test("reflection: a target challenge equal to ours closes the login before we answer", async () => {
    const challenge = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i); // the fake target's challenge
    const { target, result } = run(
      mutual,
      { auth: targetAuth({ algorithm: 5 }) },
      { random: () => Uint8Array.of(1, ...challenge) },
    );
    await rejection(result, "AUTH_FAILED", /equals our own challenge \(reflection\)/);
    expect(target.requests).toHaveLength(2);
  });
  test("identical secrets: the target answers with our own secret", async () => {
    const { result } = run(mutual, { auth: targetAuth({ mutual: { username: "tgt", secret: SECRET } }) });
    const err = await rejection(
      result,
      "AUTH_FAILED",
      /made with our own secret: initiator and target secrets are identical/,
    );
    expect(err.message).not.toContain("initiator-secret-1");
  });
  test("wrong CHAP_R", async () => {
    const { result } = run(mutual, {
      auth: targetAuth({ mutual: { username: "tgt", secret: ascii("some-other-secret") } }),
    });
    await rejection(result, "AUTH_FAILED", /failed mutual CHAP: wrong CHAP_R/);
  });
  test("CHAP_N other than configured", async () => {
    const { result } = run(mutual, { auth: targetAuth({ mutual: { username: "mallory", secret: TARGET_SECRET } }) });
    await rejection(result, "AUTH_FAILED", /CHAP_N="mallory", expected "tgt"/);
  });
  const lengths: Array<[string, string, string, RegExp]> = [
    ["short hex", "0x" + "ab".repeat(31), "AUTH_FAILED", /CHAP_R is 31 bytes; SHA-256 gives 32/],
    ["long hex", "0x" + "ab".repeat(33), "AUTH_FAILED", /CHAP_R is 33 bytes/],
    ["short base64", `0b${Buffer.alloc(16).toString("base64")}`, "AUTH_FAILED", /CHAP_R is 16 bytes/],
    ["the 128-character base64", `0b${Buffer.alloc(96, 1).toString("base64")}`, "AUTH_FAILED", /CHAP_R is 96 bytes/],
    ["badly encoded", "0xzz", "PROTOCOL", /CHAP_R has a non-hex character/],
    ["badly encoded base64", "0b@@@@", "PROTOCOL", /CHAP_R is not valid base64/],
  ];
  for (const [name, value, code, message] of lengths) {
    test(`CHAP_R ${name}`, async () => {
      await rejection(run(mutual, { tamper: setKey(2, "CHAP_R", value) }).result, code, message);
    });
  }
  test("the right CHAP_R in base64 is accepted", async () => {
    const tamper: TargetConfig["tamper"] = (r) => {
      const i = r.pairs.findIndex(([k]) => k === "CHAP_R");
      if (r.step === 2 && i >= 0)
        r.pairs[i] = ["CHAP_R", `0b${Buffer.from((r.pairs[i]?.[1] ?? "").slice(2), "hex").toString("base64")}`];
    };
    expect((await run(mutual, { tamper }).result).authMethod).toBe("CHAP");
  });
  test("mutual CHAP answered in a later T=0 round is still verified", async () => {
    const tamper: TargetConfig["tamper"] = (r) => {
      if (r.step === 2) r.res.transit = false;
    };
    expect((await run(mutual, { tamper }).result).authMethod).toBe("CHAP");
  });
});

describe("no downgrade (case 37)", () => {
  test("target answers AuthMethod=None to our CHAP", async () => {
    await rejection(
      run(oneWay, { tamper: setKey(0, "AuthMethod", "None") }).result,
      "AUTH_FAILED",
      /offered only AuthMethod=CHAP and the target answered AuthMethod="None"/,
    );
  });
  test("target sets T before any CHAP exchange", async () => {
    const tamper: TargetConfig["tamper"] = (r) => {
      if (r.step <= 1) {
        r.res.transit = true;
        r.res.nsg = 1;
      }
    };
    await rejection(run(oneWay, { tamper }).result, "PROTOCOL", /set T although we did not/);
  });
  test("target jumps to the operational stage", async () => {
    await rejection(
      run(oneWay, {
        tamper: (r) => {
          if (r.step === 0) r.res.csg = 1;
        },
      }).result,
      "PROTOCOL",
      /CSG 1 does not match our stage 0/,
    );
  });
  test("mutual: target moves on without CHAP_N/CHAP_R", async () => {
    const tamper: TargetConfig["tamper"] = (r) => {
      if (r.step === 2) r.pairs.length = 0;
    };
    await rejection(
      run(mutual, { tamper }).result,
      "AUTH_FAILED",
      /left the security stage without answering our challenge/,
    );
  });
  test("mutual: only one of CHAP_N/CHAP_R", async () => {
    await rejection(run(mutual, { tamper: setKey(2, "CHAP_R", undefined) }).result, "PROTOCOL", /did not send CHAP_R/);
  });
});

describe("secret policy (case 39)", () => {
  test("secrets under 12 bytes are refused unless explicitly allowed", async () => {
    const short = ascii("short-pass1"); // 11 bytes
    const { target, result } = run({ ...oneWay, secret: short });
    const err = await rejection(result, "CONFIG", /CHAP secret is shorter than 12 bytes/);
    expect(err.message).not.toContain("short-pass1");
    expect(target.requests).toHaveLength(0);
    const allowed = run({ ...oneWay, secret: short, allowShortSecrets: true }, { auth: targetAuth({ secret: short }) });
    expect((await allowed.result).authMethod).toBe("CHAP");
  });
  test("the same secret in both directions is refused", async () => {
    const err = await rejection(
      run({ ...oneWay, mutual: { username: "tgt", secret: ascii("initiator-secret-1") } }).result,
      "CONFIG",
      /secrets are identical/,
    );
    expect(err.message).not.toContain("initiator-secret-1");
  });
  test("bad algorithm lists and usernames", async () => {
    await rejection(run({ ...oneWay, algorithms: [] }).result, "CONFIG", /CHAP algorithms/);
    await rejection(run({ ...oneWay, algorithms: [5, 5] }).result, "CONFIG", /CHAP algorithms 5,5/);
    await rejection(run({ ...oneWay, algorithms: [4] }).result, "CONFIG", /CHAP algorithms 4/);
    await rejection(run({ ...oneWay, username: "" }).result, "CONFIG", /CHAP username is empty/);
  });
});
