// Bugs the fuzzers found, each pinned by the smallest reproducer (fuzz seed and episode in the test name).
import { describe, expect, test } from "bun:test";
import { login, type LoginParams } from "../../src/login/login.ts";
import { FakeTarget } from "../login/fake-target.ts";

const PARAMS: LoginParams = {
  initiatorName: "iqn.2026-11.dev.iscsi:fuzz",
  targetName: "iqn.2026-11.test:fuzz",
  sessionType: "Normal",
  isid: 0x800000000001,
  tsih: 0,
  cid: 0,
  initialCmdSN: 1,
  auth: { method: "None" },
};

describe("FirstBurstLength left unanswered because irrelevant (InitialR2T=Yes, ImmediateData=No; login fuzz seed 2019211311 episode 5301)", () => {
  test("a MaxBurstLength below the 65536 default no longer fails the login", async () => {
    const target = new FakeTarget({ answers: { FirstBurstLength: undefined, MaxBurstLength: "4096" } });
    const n = await login(target, { ...PARAMS, proposal: { initialR2T: true, immediateData: false } });
    expect(n.maxBurstLength).toBe(4096);
    expect(n.firstBurstLength).toBe(4096);
  });

  test("the record never shows more than we offered", async () => {
    const target = new FakeTarget({ answers: { FirstBurstLength: undefined } });
    const n = await login(target, {
      ...PARAMS,
      proposal: { initialR2T: true, immediateData: false, firstBurstLength: 512 },
    });
    expect(n.firstBurstLength).toBe(512);
  });
});
