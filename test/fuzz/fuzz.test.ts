// Bounded fuzzing in CI (about 14 s): hostile and mutated target PDUs against a logged-in session, bent Login
// Responses against the login code, mutated streams against the framer (docs/reliability.md, sections A–F).
// Random seed unless FUZZ_SEED is set; the seed and the failing episodes are printed on failure.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { log } from "../../src/log.ts";
import { checkError, checkResult, sessionEpisode, type Finding } from "./session-fuzz.ts";
import { fuzz, replayHint } from "./run.ts";
import { seedFrom } from "./prng.ts";

const seed = seedFrom(process.env.FUZZ_SEED);
// The engine warns about every hostile PDU; thousands of those lines would bury the test output.
let level = log.level;
beforeAll(() => {
  level = log.level;
  log.level = -999;
});
afterAll(() => {
  log.level = level;
});

function report(findings: Array<Finding & { lane?: string }>): string[] {
  if (findings.length > 0) {
    console.error(`fuzz seed ${seed}: ${findings.length} finding(s); replay with: ${replayHint(seed)}`);
    for (const f of findings.slice(0, 20)) console.error(`  ${f.lane ?? ""} episode ${f.episode}: ${f.what}`);
  }
  return findings.map((f) => `seed ${seed} ${f.lane ?? ""} episode ${f.episode}: ${f.what}`);
}

describe(`fuzz (seed ${seed})`, () => {
  test("session, login and framer fuzzers run clean: everything settles, typed errors only, sane results, bounded memory", async () => {
    const summary = await fuzz({ seed, budgetMs: 13_000 });
    expect(report(summary.findings)).toEqual([]);
    expect(summary.unhandled).toEqual([]);
    // Enough was exercised for a clean run to mean something.
    expect(summary.lanes.session.episodes).toBeGreaterThan(200);
    expect(summary.lanes.login.episodes).toBeGreaterThan(1000);
    expect(summary.lanes.framer.episodes).toBeGreaterThan(2000);
    const o = summary.lanes.session.outcomes;
    expect(o["command:ok"]).toBeGreaterThan(100);
    expect(o["command:PROTOCOL"]).toBeGreaterThan(50);
    expect(summary.lanes.login.outcomes["login:ok"]).toBeGreaterThan(100);
    expect(summary.rssMiB.end - summary.rssMiB.warm).toBeLessThan(150);
  }, 30_000);

  test("a replayed episode does the same thing (same configuration, same mutations)", async () => {
    const a = await sessionEpisode(seed, 7);
    const b = await sessionEpisode(seed, 7);
    expect(b.log[0]).toBe(a.log[0]!);
    expect(b.commands).toBe(a.commands);
  });

  test("the checks bite: a bad result or an untyped error is a finding", () => {
    const found: string[] = [];
    const find = (what: string) => void found.push(what);
    const read = { lun: 0, cdb: new Uint8Array(10), direction: "read" as const, transferLength: 1024 };
    checkResult(read, { status: 0, residualUnderflow: 0, residualOverflow: 0, data: new Uint8Array(512) }, find);
    checkResult(read, { status: 300, residualUnderflow: 2048, residualOverflow: 0, data: new Uint8Array(2048) }, find);
    checkError("command", new TypeError("x is undefined"), find);
    checkError("command", "a string", find);
    checkError("command", Object.assign(new Error("fine"), { code: "PROTOCOL" }), find);
    expect(found.length).toBe(6);
  });
});
