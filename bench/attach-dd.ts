// Throughput of an attached LUN (FUSE file → loop device with direct I/O) measured with `dd` O_DIRECT, beside
// `iscsi bench` on the same tgtd LUN in the same run: sequential 1 MiB reads and writes, one dd against QD1 and
// four dd streams on disjoint quarters against QD4. Rounds alternate which goes first; medians are printed as a
// Markdown table, with the CPU time of the initiator process (ours: the one serving the FUSE file) per GiB.
//
//   bun bench/attach-dd.ts [--target tgtd|null-target] [--rounds 3] [--time 5] [--backing null,tmpfs]
//
// --target null-target uses the benchmark null target (bench/null-target; one null LU) instead of tgtd.
//
// Needs root, /dev/fuse and loop devices. Everything started here is stopped when the script ends.
import { parseArgs } from "node:util";
import { Attachment } from "../src/attach/attachment.ts";
import { Session } from "../src/session/session.ts";
import { stopAllTargets, withParentDeathSignal } from "../test/harness/processes.ts";
import { startNullTarget } from "../test/harness/null-target.ts";
import { startTgtd } from "../test/harness/tgtd.ts";
import { median } from "../src/bench/compare-table.ts";

const { values: opts } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    time: { type: "string", default: "5" },
    backing: { type: "string", default: "null,tmpfs" },
    target: { type: "string", default: "tgtd" },
  },
});
const rounds = Number(opts.rounds);
const seconds = Number(opts.time);
const nullTarget = opts.target === "null-target";
if (!nullTarget && opts.target !== "tgtd")
  throw new Error(`--target ${JSON.stringify(opts.target)}: expected tgtd or null-target`);
const backings = nullTarget ? ["null" as const] : (opts.backing!.split(",") as Array<"null" | "tmpfs">);
const MiB = 2 ** 20;
const GiB = 2 ** 30;
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Sample {
  bytesPerSecond: number;
  cpuPerGiB: number;
}
interface Profile {
  rw: "read" | "write";
  streams: number;
}
const PROFILES: Profile[] = [
  { rw: "read", streams: 1 },
  { rw: "write", streams: 1 },
  { rw: "read", streams: 4 },
  { rw: "write", streams: 4 },
];
const label = (p: Profile) => `${p.rw} 1 MiB, ${p.streams === 1 ? "1 dd / QD1" : `${p.streams} dd / QD${p.streams}`}`;

process.env.TMPDIR = "/dev/shm"; // the tmpfs LUN's backing file
const target = nullTarget ? await startNullTarget() : await startTgtd({ luns: [{ null: true }, { sizeMiB: 1024 }] });
const iqn = target.targets[0]!.iqn;
const lunOf = (b: "null" | "tmpfs") => (nullTarget ? 0 : b === "null" ? 1 : 2);

/** Megabytes one dd stream moves in about `seconds`, learnt from the previous run of the same profile. */
const rate = new Map<string, number>();

async function runDd(device: string, p: Profile, sizeBytes: number, key: string): Promise<Sample> {
  const perStream = Math.min(
    Math.floor(sizeBytes / p.streams / MiB),
    Math.max(64, Math.round(((rate.get(key) ?? 300) * seconds) / p.streams)),
  );
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const children = Array.from({ length: p.streams }, (_, i) => {
    const region = Math.floor(sizeBytes / p.streams / MiB) * i;
    const argv =
      p.rw === "read"
        ? [
            "dd",
            `if=${device}`,
            "of=/dev/null",
            "bs=1M",
            `count=${perStream}`,
            `skip=${region}`,
            "iflag=direct",
            "status=none",
          ]
        : [
            "dd",
            "if=/dev/zero",
            `of=${device}`,
            "bs=1M",
            `count=${perStream}`,
            `seek=${region}`,
            "oflag=direct",
            "status=none",
          ];
    return Bun.spawn(withParentDeathSignal(argv), { stdout: "ignore", stderr: "pipe" });
  });
  const codes = await Promise.all(children.map((c) => c.exited));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (codes.some((c) => c !== 0)) throw new Error(`dd failed: ${await new Response(children[0]!.stderr).text()}`);
  const bytes = perStream * p.streams * MiB;
  rate.set(key, bytes / MiB / elapsed);
  return { bytesPerSecond: bytes / elapsed, cpuPerGiB: (cpu.user + cpu.system) / 1e6 / (bytes / GiB) };
}

async function runBench(url: string, p: Profile): Promise<Sample> {
  const argv = [
    process.execPath,
    `${import.meta.dir}/../src/main.ts`,
    "bench",
    url,
    "--rw",
    p.rw,
    "--bs",
    "1M",
    "--qd",
    String(p.streams),
    "--time",
    String(seconds),
    "--warmup",
    "1",
    "--destroy-data",
    "--json",
  ];
  const child = Bun.spawn(withParentDeathSignal(argv), { stdout: "pipe", stderr: "pipe" });
  const [out] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  if (child.exitCode !== 0) throw new Error(`iscsi bench failed: ${await new Response(child.stderr).text()}`);
  const r = JSON.parse(out).results[0];
  return { bytesPerSecond: r.mbPerSecond * 1e6, cpuPerGiB: r.cpu.secondsPerGiB };
}

const samples: Record<string, { dd: Sample[]; bench: Sample[] }> = {};
try {
  log(
    `${opts.target} pid ${target.pid} on ${target.portal}; ${rounds} rounds × ${PROFILES.length} profiles × ${backings.join("+")}, ~${seconds} s each`,
  );
  for (const backing of backings) {
    const session = await Session.open({
      portal: { host: target.host, port: target.port },
      login: {
        initiatorName: "iqn.2026-11.dev.iscsi:attach-dd",
        targetName: iqn,
        sessionType: "Normal",
        auth: { method: "None" },
      },
    });
    const a = await Attachment.attach(session, lunOf(backing));
    log(`${backing}: ${a.device} over ${a.file} (direct I/O ${a.directIo ? "on" : "OFF"})`);
    try {
      for (let round = 0; round < rounds; round++) {
        for (const [i, p] of PROFILES.entries()) {
          const key = `${backing} ${label(p)}`;
          const s = (samples[key] ??= { dd: [], bench: [] });
          const dd = () => runDd(a.device!, p, a.geometry.sizeBytes, key).then((r) => s.dd.push(r));
          const bench = () =>
            runBench(`iscsi://${target.portal}/${iqn}/${lunOf(backing)}`, p).then((r) => s.bench.push(r));
          for (const run of (round + i) % 2 === 0 ? [dd, bench] : [bench, dd]) await run();
          log(
            `round ${round + 1} ${key}: dd ${(s.dd.at(-1)!.bytesPerSecond / 1e6).toFixed(0)} MB/s, iscsi bench ${(s.bench.at(-1)!.bytesPerSecond / 1e6).toFixed(0)} MB/s`,
          );
        }
      }
    } finally {
      await a.detach();
      await session.logout();
    }
  }
  const lines = [
    `Command: \`bun bench/attach-dd.ts ${process.argv.slice(2).join(" ")}\``.replace(/ `$/, "`") +
      ` (${rounds} rounds, medians; ${new Date().toISOString().slice(0, 10)}, ${navigator.hardwareConcurrency} CPUs, Bun ${Bun.version})`,
    "",
    "| backing | profile | dd on /dev/loopN | iscsi bench | dd ÷ bench | CPU s/GiB attach | CPU s/GiB bench |",
    "|---|---|---:|---:|---:|---:|---:|",
  ];
  for (const [key, s] of Object.entries(samples)) {
    const [backing, ...rest] = key.split(" ");
    const dd = median(s.dd.map((x) => x.bytesPerSecond));
    const bench = median(s.bench.map((x) => x.bytesPerSecond));
    const cpu = (xs: Sample[]) => median(xs.map((x) => x.cpuPerGiB)).toFixed(2);
    lines.push(
      `| ${backing === "null" ? "null" : "file on tmpfs"} | ${rest.join(" ")} | ${(dd / 1e6).toFixed(0)} MB/s | ${(bench / 1e6).toFixed(0)} MB/s | ${(dd / bench).toFixed(2)}× | ${cpu(s.dd)} | ${cpu(s.bench)} |`,
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  await target.stop();
  await stopAllTargets();
}
