// `iscsi bench --compare` against the benchmark null target, with tiny durations: the JSON and table shapes,
// that every contender moved data on every profile it can run, and the arguments it refuses (exit code 7).
// No timing assertions: which initiator is faster is for benchmarks, not tests.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startNullTarget, type NullTarget } from "../harness/null-target.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");

async function cli(args: string[]) {
  const p = Bun.spawn([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { stdout, stderr, code };
}

let t: NullTarget;
beforeAll(async () => {
  t = await startNullTarget();
});
afterAll(async () => {
  await t?.stop();
});

const QUICK = ["--bs", "4k", "--qd", "4", "--time", "0.5", "--warmup", "0", "--rounds", "2"];

describe("iscsi bench --compare", () => {
  test("reads and writes in turns with iscsi-perf and qemu-img bench: JSON", async () => {
    const r = await cli(["bench", t.url, "--compare", "--rw", "read,write", ...QUICK, "--destroy-data", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ url: t.url, rounds: 2, seconds: 0.5, peers: ["iscsi-perf", "qemu-img bench"] });
    expect(out.results.map((x: { workload: string }) => x.workload)).toEqual(["read", "write"]);
    for (const row of out.results) {
      expect(row).toMatchObject({ blockSize: 4096, queueDepth: 4 });
      const byName = Object.fromEntries(row.contenders.map((c: { name: string }) => [c.name, c]));
      expect(Object.keys(byName)).toEqual(["iscsi", "iscsi-perf", "qemu-img bench"]);
      // iscsi-perf only reads; everyone else ran both profiles, twice, and moved data each time.
      const ran = row.workload === "read" ? ["iscsi", "iscsi-perf", "qemu-img bench"] : ["iscsi", "qemu-img bench"];
      for (const name of ran) {
        expect(byName[name].runs).toHaveLength(2);
        for (const run of byName[name].runs) {
          expect(run.iops).toBeGreaterThan(0);
          expect(run.bytesPerSecond).toBeCloseTo(run.iops * 4096, -2);
          expect(run.cpuPerGiB).toBeGreaterThan(0);
        }
        expect(byName[name].rate).toBeGreaterThan(0);
      }
      if (row.workload === "write") expect(byName["iscsi-perf"]).toEqual({ name: "iscsi-perf", runs: [] });
      expect(row.ratio).toBeCloseTo(
        byName.iscsi.rate / Math.max(...ran.filter((n) => n !== "iscsi").map((n) => byName[n].rate)),
        6,
      );
      expect(["target", "initiator", "peers"]).toContain(row.limit);
    }
  });

  test("the human table has one row per profile and a column per contender", async () => {
    const r = await cli(["bench", t.url, "--compare", "--rw", "read", ...QUICK]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^workload\s+bs\s+qd\s+iscsi\s+iscsi-perf\s+qemu-img bench\s+iscsi ÷ best peer\s+CPU s\/GiB iscsi\s+CPU s\/GiB iscsi-perf\s+CPU s\/GiB qemu-img bench\s+limit$/,
    );
    expect(lines[1]).toMatch(/^read\s+4\.0 KiB\s+4\s+[\d.]+ k IOPS\s+[\d.]+ k IOPS\s+[\d.]+ k IOPS\s+[\d.]+×/);
  });

  test("refuses what the peers cannot honour", async () => {
    for (const extra of [
      ["--bytes", "1M"],
      ["--offset", "1M"],
      ["--rounds", "0"],
    ]) {
      const r = await cli(["bench", t.url, "--compare", ...extra]);
      expect(r.code).toBe(7);
      expect(r.stderr).toMatch(/--bytes|--offset|--rounds/);
      expect(r.stdout).toBe("");
    }
    const r = await cli(["bench", t.url, "--rounds", "2"]);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain("--rounds belongs to --compare");
  });
});
