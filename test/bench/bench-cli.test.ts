// `iscsi bench` as a user runs it, against a tgtd `null` LUN started by the test: JSON shape and sanity
// (no timing assertions), the table form, the destroy-data guard, the transport chosen and reported, and
// argument errors with exit code 7.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ensureNativeLib } from "../harness/native.ts";
import { startTgtd, type StartedTarget } from "../harness/tgtd.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");

async function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const p = Bun.spawn([process.execPath, MAIN, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { stdout, stderr, code };
}

let t: StartedTarget;
let url: string;
beforeAll(async () => {
  t = await startTgtd({ luns: [{ null: true }] });
  url = `iscsi://${t.portal}/${t.targets[0]!.iqn}/1`;
});
afterAll(async () => {
  await t?.stop();
});

describe("iscsi bench", () => {
  test("2 s of 64 KiB sequential reads at QD8 give sane JSON", async () => {
    const r = await cli([
      "bench",
      url,
      "--rw",
      "read",
      "--bs",
      "64k",
      "--qd",
      "8",
      "--time",
      "2",
      "--warmup",
      "0.2",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.target.iqn).toBe(t.targets[0]!.iqn);
    expect(out.target.capacityBytes).toBe(String(2 ** 40));
    expect(out.results).toHaveLength(1);
    const x = out.results[0];
    expect(x).toMatchObject({ workload: "read", blockSize: 65536, queueDepth: 8 });
    expect(x.ios).toBeGreaterThan(0);
    expect(x.bytes).toBe(x.ios * 65536);
    expect(x.seconds).toBeGreaterThanOrEqual(2);
    // JSON seconds are rounded to the ms, so near 2 GB/s the recomputed rate can be off by more than 0.5.
    expect(x.mbPerSecond).toBeCloseTo(x.bytes / 1e6 / x.seconds, -1);
    expect(x.latency.count).toBe(x.ios);
    expect(x.latency.p50Us).toBeGreaterThan(0);
    expect(x.latency.p50Us).toBeLessThanOrEqual(x.latency.p99Us);
    expect(x.latency.p99Us).toBeLessThanOrEqual(x.latency.maxUs);
    expect(x.cpu.secondsPerGiB).toBeGreaterThan(0);
    expect(x.memory.peakRssBytes).toBeGreaterThanOrEqual(x.memory.rssEndBytes);
    expect(x.memory.rssSamplesBytes.length).toBeGreaterThan(1);
  });

  test("several workloads, block sizes and queue depths run by byte count, one table row each", async () => {
    const r = await cli([
      "bench",
      url,
      "--rw",
      "randread,randwrite",
      "--bs",
      "4k,16k",
      "--qd",
      "1,4",
      "--bytes",
      "256k",
      "--warmup",
      "0",
      "--destroy-data",
    ]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      /^workload\s+bs\s+qd\s+seconds\s+MB\/s\s+IOPS\s+p50 µs\s+p99 µs\s+max µs\s+CPU s\/GiB\s+peak RSS$/,
    );
    expect(
      lines.slice(1).map((l) =>
        l
          .split(/\s{2,}/)
          .slice(0, 3)
          .join(" "),
      ),
    ).toEqual([
      "randread 4.0 KiB 1",
      "randread 4.0 KiB 4",
      "randread 16.0 KiB 1",
      "randread 16.0 KiB 4",
      "randwrite 4.0 KiB 1",
      "randwrite 4.0 KiB 4",
      "randwrite 16.0 KiB 1",
      "randwrite 16.0 KiB 4",
    ]);
  });

  test("writes to a named LUN are refused without --destroy-data (exit 7), before any login", async () => {
    const r = await cli(["bench", url, "--rw", "read,write", "--time", "1"]);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("--destroy-data");
  });

  test("--transport native moves the same bytes and says so in the JSON", async () => {
    ensureNativeLib();
    const r = await cli([
      "bench",
      url,
      "--rw",
      "read,write",
      "--bs",
      "1M",
      "--qd",
      "8",
      "--bytes",
      "64M",
      "--warmup",
      "0",
      "--transport",
      "native",
      "--destroy-data",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.target.transport).toBe("native");
    expect(out.results.map((x: { bytes: number }) => x.bytes)).toEqual([64 * 2 ** 20, 64 * 2 ** 20]);
  });

  test("the JSON names the transport resolved: native by default here, bun by ISCSI_TRANSPORT; a missing ISCSI_NET_LIB is exit 4", async () => {
    ensureNativeLib();
    const run = (env: Record<string, string | undefined>) =>
      cli(["bench", url, "--bs", "1M", "--qd", "4", "--bytes", "8M", "--warmup", "0", "--json"], {
        ISCSI_TRANSPORT: undefined,
        ISCSI_NET_LIB: undefined,
        ...env,
      });
    expect(JSON.parse((await run({})).stdout).target.transport).toBe("native");
    expect(JSON.parse((await run({ ISCSI_TRANSPORT: "bun" })).stdout).target.transport).toBe("bun");
    const broken = await run({ ISCSI_NET_LIB: "/nonexistent/libiscsi_net.so" });
    expect(broken.code).toBe(4);
    expect(broken.stderr).toContain("$ISCSI_NET_LIB names /nonexistent/libiscsi_net.so, which does not exist");
  });

  test("bad workloads, sizes, depths and transports are argument errors (exit 7)", async () => {
    for (const args of [
      ["--rw", "readwrite"],
      ["--qd", "0"],
      ["--qd", "129"],
      ["--bs", "1000"],
      ["--time", "1", "--bytes", "1M"],
      ["--time", "soon"],
      ["--transport", "rdma"],
    ]) {
      const r = await cli(["bench", url, ...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 7 });
    }
  });

  test("--local starts and stops its own tgtd; writes need no flag there", async () => {
    const r = await cli([
      "bench",
      "--local",
      "--rw",
      "write",
      "--bs",
      "1M",
      "--qd",
      "4",
      "--time",
      "1",
      "--warmup",
      "0",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.target.local).toBe(true);
    expect(out.results[0].ios).toBeGreaterThan(0);
    // The target it started is gone: its port no longer accepts connections.
    const [host, port] = out.target.portal.split(":");
    const refused = await Bun.connect({ hostname: host, port: Number(port), socket: { data() {} } }).then(
      (s) => (s.end(), false),
      () => true,
    );
    expect(refused).toBe(true);
  });
  test("--connections: the target's MaxConnections (tgt's default 1) wins; 0 or text is an argument error (exit 7)", async () => {
    const r = await cli([
      "bench",
      url,
      "--connections",
      "2",
      "--rw",
      "read",
      "--bs",
      "64k",
      "--qd",
      "4",
      "--bytes",
      "4M",
      "--warmup",
      "0",
      "--json",
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).target.connections).toBe(1);
    for (const bad of ["0", "two"]) {
      const x = await cli(["bench", url, "--connections", bad, "--json"]);
      expect(x.code).toBe(7);
      expect(x.stderr).toContain(`--connections must be a whole number from 1 to 65535, not ${JSON.stringify(bad)}`);
    }
  });
});
