// Throughput of the NFS attach route: the libnfs checker (test/nfs/nfs_checker.c --bench: 1 MiB sequential
// UNSTABLE writes then a COMMIT, then 1 MiB reads, with DEPTH requests in flight) against this process's loopback
// NFS server serving a tgtd LUN, beside `iscsi bench` with the same block size, queue depth and bytes on the same
// LUN, the two taking turns; medians as a Markdown table, with this process's CPU per GiB (the NFS server).
//
//   bun bench/nfs-route.ts [--target tgtd|null-target] [--rounds 3] [--mib 512] [--depths 1,8] [--backing null,tmpfs]
//
// --target null-target uses the benchmark null target (bench/null-target; one null LU) instead of tgtd.
//
// Needs root (the checker binds a reserved port) and ffi/build/<platform>/nfs_checker (.ci/setup builds it).
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { NfsAttachment } from "../src/attach/nfs/attachment.ts";
import { NfsServer } from "../src/attach/nfs/server.ts";
import { log as rootLog } from "../src/log.ts";
import { Session } from "../src/session/session.ts";
import { stopAllTargets, withParentDeathSignal } from "../test/harness/processes.ts";
import { startNullTarget } from "../test/harness/null-target.ts";
import { startTgtd } from "../test/harness/tgtd.ts";
import { median } from "../src/bench/compare-table.ts";

const { values: opts } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    mib: { type: "string", default: "512" },
    depths: { type: "string", default: "1,8" },
    backing: { type: "string", default: "null,tmpfs" },
    target: { type: "string", default: "tgtd" },
  },
});
const rounds = Number(opts.rounds);
const bytes = Number(opts.mib) * 2 ** 20;
const depths = opts.depths!.split(",").map(Number);
const nullTarget = opts.target === "null-target";
if (!nullTarget && opts.target !== "tgtd")
  throw new Error(`--target ${JSON.stringify(opts.target)}: expected tgtd or null-target`);
const backings = nullTarget ? ["null" as const] : (opts.backing!.split(",") as Array<"null" | "tmpfs">);
const GiB = 2 ** 30;
const CHECKER = join(import.meta.dir, `../ffi/build/linux-${process.arch === "arm64" ? "arm64" : "x64"}/nfs_checker`);
const say = (s: string) => process.stderr.write(`${s}\n`);

interface Sample {
  bytesPerSecond: number;
  cpuPerGiB: number;
}

process.env.TMPDIR = "/dev/shm"; // the tmpfs LUN's backing file
const target = nullTarget
  ? await startNullTarget()
  : await startTgtd({ luns: [{ null: true }, { sizeMiB: Math.max(1024, Number(opts.mib)) }] });
const iqn = target.targets[0]!.iqn;
const lunOf = (b: "null" | "tmpfs") => (nullTarget ? 0 : b === "null" ? 1 : 2);

/** One checker run: write and read rates, this process's CPU per GiB moved (both directions together). */
async function runChecker(url: string, depth: number): Promise<{ write: Sample; read: Sample }> {
  const cpu0 = process.cpuUsage();
  const child = Bun.spawn(withParentDeathSignal([CHECKER, url, String(bytes), "1", String(depth), "0", "--bench"]), {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  if (child.exitCode !== 0) throw new Error(`nfs_checker failed: ${await new Response(child.stderr).text()}`);
  const cpu = process.cpuUsage(cpu0);
  const r = JSON.parse(out);
  const cpuPerGiB = (cpu.user + cpu.system) / 1e6 / ((r.bytesWritten + r.bytesRead) / GiB);
  return {
    write: { bytesPerSecond: r.bytesWritten / r.writeSeconds, cpuPerGiB },
    read: { bytesPerSecond: r.bytesRead / r.readSeconds, cpuPerGiB },
  };
}

async function runBench(url: string, rw: "read" | "write", depth: number): Promise<Sample> {
  const argv = [
    process.execPath,
    `${import.meta.dir}/../src/main.ts`,
    "bench",
    url,
    "--rw",
    rw,
    "--bs",
    "1M",
    "--qd",
    String(depth),
    "--bytes",
    String(bytes),
    "--warmup",
    "0",
    "--destroy-data",
    "--json",
  ];
  const child = Bun.spawn(withParentDeathSignal(argv), { stdout: "pipe", stderr: "pipe" });
  const [out] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  if (child.exitCode !== 0) throw new Error(`iscsi bench failed: ${await new Response(child.stderr).text()}`);
  const r = JSON.parse(out).results[0];
  return { bytesPerSecond: r.mbPerSecond * 1e6, cpuPerGiB: r.cpu.secondsPerGiB };
}

const samples: Record<string, { nfs: Sample[]; bench: Sample[] }> = {};
const server = NfsServer.listen(0, rootLog);
const runDir = mkdtempSync(join("/dev/shm", "iscsi-nfs-bench-"));
try {
  say(
    `${opts.target} pid ${target.pid} on ${target.portal}; NFS on 127.0.0.1:${server.port}; ${rounds} rounds, ${opts.mib} MiB per run`,
  );
  for (const backing of backings) {
    const session = await Session.open({
      portal: { host: target.host, port: target.port },
      login: {
        initiatorName: "iqn.2026-12.dev.iscsi:nfs-bench",
        targetName: iqn,
        sessionType: "Normal",
        auth: { method: "None" },
      },
    });
    const a = await NfsAttachment.attach(session, lunOf(backing), async () => server, { runDir, log: rootLog });
    const url = a.exportView.url;
    try {
      for (let round = 0; round < rounds; round++) {
        for (const [i, depth] of depths.entries()) {
          const nfs = () =>
            runChecker(url, depth).then((r) => {
              (samples[`${backing}|write|${depth}`] ??= { nfs: [], bench: [] }).nfs.push(r.write);
              (samples[`${backing}|read|${depth}`] ??= { nfs: [], bench: [] }).nfs.push(r.read);
            });
          const bench = async () => {
            for (const rw of ["write", "read"] as const)
              (samples[`${backing}|${rw}|${depth}`] ??= { nfs: [], bench: [] }).bench.push(
                await runBench(`iscsi://${target.portal}/${iqn}/${lunOf(backing)}`, rw, depth),
              );
          };
          for (const run of (round + i) % 2 === 0 ? [nfs, bench] : [bench, nfs]) await run();
          for (const rw of ["write", "read"]) {
            const s = samples[`${backing}|${rw}|${depth}`]!;
            say(
              `round ${round + 1} ${backing} ${rw} QD${depth}: NFS ${(s.nfs.at(-1)!.bytesPerSecond / 1e6).toFixed(0)} MB/s, iscsi bench ${(s.bench.at(-1)!.bytesPerSecond / 1e6).toFixed(0)} MB/s`,
            );
          }
        }
      }
    } finally {
      await a.detach();
      await session.logout();
    }
  }
  const lines = [
    `Command: \`bun bench/nfs-route.ts ${process.argv.slice(2).join(" ")}\``.replace(/ `$/, "`") +
      ` (${rounds} rounds, medians; ${new Date().toISOString().slice(0, 10)}, ${navigator.hardwareConcurrency} CPUs, Bun ${Bun.version})`,
    "",
    "| backing | profile | libnfs checker over NFS | iscsi bench | NFS ÷ bench | CPU s/GiB NFS server | CPU s/GiB bench |",
    "|---|---|---:|---:|---:|---:|---:|",
  ];
  for (const [key, s] of Object.entries(samples)) {
    const [backing, rw, depth] = key.split("|");
    const nfs = median(s.nfs.map((x) => x.bytesPerSecond));
    const bench = median(s.bench.map((x) => x.bytesPerSecond));
    const cpu = (xs: Sample[]) => median(xs.map((x) => x.cpuPerGiB)).toFixed(2);
    lines.push(
      `| ${backing === "null" ? "null" : "file on tmpfs"} | ${rw} 1 MiB, QD${depth} | ${(nfs / 1e6).toFixed(0)} MB/s | ${(bench / 1e6).toFixed(0)} MB/s | ${(nfs / bench).toFixed(2)}× | ${cpu(s.nfs)} | ${cpu(s.bench)} |`,
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  server.stop();
  rmSync(runDir, { recursive: true, force: true });
  await target.stop();
  await stopAllTargets();
}
