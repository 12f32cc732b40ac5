// Side-by-side comparison of `iscsi bench` with libiscsi's iscsi-perf and qemu-img bench on the same
// LUNs in the same run, several rounds with the contenders taking turns, then each profile's medians, CPU
// per GiB and our ratio to the best peer, as Markdown tables. The target is tgtd (a `null` LUN and a file
// on tmpfs) or, with --target null-target, the benchmark null target of bench/null-target (one null LU),
// which costs so little that the initiators, not the target, set the pace.
//
//   bun bench/compare.ts [--target tgtd|null-target] [--rounds 3] [--time 5] [--warmup 1] [--pin 0] [--pin-target 0] [--backing null,tmpfs]
//                        [--profiles read:1M:16,write:4k:32,...] [--soak 60] [--json FILE]
//                        [--also DIR=LABEL ...] [--native] [--bun]
//
// --also adds `iscsi bench` from another checkout (DIR/src/main.ts) as one more of "ours", e.g. to measure
// a proposed change against the current tree and the peers in the same run. "iscsi bench" runs with its
// default transport; --native and --bun add this tree's `iscsi bench --transport native` (the bun:ffi
// transport) or `--transport bun` (Bun's sockets) as more of ours. --pin pins every contender
// (and the target, unless --pin-target pins it elsewhere) with taskset. Each run also reports the CPU the target
// spent per GiB: with a CPU of its own, 1 ÷ that figure is the most any initiator can get from it.
//
// Everything started here (tgtd, every tool) is killed by pid when the script ends, or by the kernel if the
// script dies (parent-death signal).
import { parseArgs } from "node:util";
import { readFileSync, writeFileSync } from "node:fs";
import { startTgtd } from "../test/harness/tgtd.ts";
import { startNullTarget } from "../test/harness/null-target.ts";
import { stopAllTargets } from "../test/harness/processes.ts";
import {
  CONTENDERS,
  iscsiBench,
  iscsiBenchAt,
  iscsiBenchBun,
  iscsiBenchNative,
  type Contender,
  type RunResult,
  type RunSettings,
} from "./contenders.ts";
import { formatTable, median, profileLabel, type Row } from "../src/bench/compare-table.ts";
import { parseProfile } from "../src/bench/peers.ts";

const DEFAULT_PROFILES =
  "read:1M:16,write:1M:16,read:4k:32,write:4k:32,read:4k:1,write:4k:1,randread:4k:1,randread:4k:32";

const { values: opts } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    time: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    target: { type: "string", default: "tgtd" },
    pin: { type: "string" },
    "pin-target": { type: "string" },
    backing: { type: "string", default: "null,tmpfs" },
    profiles: { type: "string", default: DEFAULT_PROFILES },
    soak: { type: "string", default: "0" },
    json: { type: "string" },
    also: { type: "string", multiple: true, default: [] },
    native: { type: "boolean", default: false },
    bun: { type: "boolean", default: false },
  },
});

const rounds = Number(opts.rounds);
const profiles = opts.profiles!.split(",").map(parseProfile);
const targetKind = opts.target!;
if (targetKind !== "tgtd" && targetKind !== "null-target")
  throw new Error(`--target ${JSON.stringify(targetKind)}: expected tgtd or null-target`);
// The null target has one LU, a null one.
const backings =
  targetKind === "null-target" ? ["null" as const] : (opts.backing!.split(",") as Array<"null" | "tmpfs">);
const pin = opts.pin;
// The target's CPUs: --pin-target when given (e.g. tgtd on CPU 0 and the initiators on CPU 1, as when the
// target is another machine), else the initiators' --pin (both on one CPU: the stable, hardest setting).
const pinTarget = opts["pin-target"] ?? pin;
const variants = (opts.also ?? []).map((spec) => {
  const [dir, label] = spec.split("=");
  return iscsiBenchAt(`${dir}/src/main.ts`, label || `iscsi bench (${dir})`);
});
if (opts.bun) variants.unshift(iscsiBenchBun);
if (opts.native) variants.unshift(iscsiBenchNative);
const contenders = [...CONTENDERS, ...variants];
const ours = [iscsiBench.name, ...variants.map((v) => v.name)];

// The tmpfs LUN is a file under TMPDIR, which the harness reads when it makes its temp dir.
process.env.TMPDIR = "/dev/shm";
const target =
  targetKind === "null-target"
    ? await startNullTarget()
    : await startTgtd({ luns: [{ null: true }, { sizeMiB: 1024 }] });
const log = (s: string) => process.stderr.write(s + "\n");
try {
  if (pinTarget) {
    const p = Bun.spawnSync(["taskset", "-a", "-p", "-c", pinTarget, String(target.pid)], { stdout: "ignore" });
    if (p.exitCode !== 0) throw new Error(`taskset on ${targetKind} pid ${target.pid} failed`);
  }
  const iqn = target.targets[0]!.iqn;
  const urlFor = (b: "null" | "tmpfs") =>
    `iscsi://${target.portal}/${iqn}/${targetKind === "null-target" ? 0 : b === "null" ? 1 : 2}`;
  const raw: Record<string, Record<string, Record<string, RunResult[]>>> = {};
  log(
    `${targetKind} pid ${target.pid} on ${target.portal}; ${rounds} rounds × ${profiles.length} profiles × ${backings.join("+")}, ${opts.time} s each${pin ? `, initiators pinned to CPU ${pin}` : ""}${pinTarget ? `, ${targetKind} to CPU ${pinTarget}` : ""}`,
  );
  for (let round = 0; round < rounds; round++) {
    for (const backing of backings) {
      for (const [pi, p] of profiles.entries()) {
        const settings: RunSettings = {
          url: urlFor(backing),
          seconds: Number(opts.time),
          warmupSeconds: Number(opts.warmup),
          ...(pin ? { pin } : {}),
        };
        const who = contenders.filter((c) => c.supports(p));
        // Rotate the order every round and profile, so no contender always runs first (or right after tgtd idled).
        const turn = (round + pi) % who.length;
        for (const c of [...who.slice(turn), ...who.slice(0, turn)]) {
          await c.prepare?.(p, settings);
          const before = processCpuSeconds(target.pid);
          const r = await c.run(p, settings);
          r.targetCpuPerGiB = (processCpuSeconds(target.pid) - before) / (r.movedBytes / 2 ** 30);
          ((raw[backing] ??= {})[profileLabel(p)] ??= {})[c.name] ??= [];
          raw[backing]![profileLabel(p)]![c.name]!.push(r);
          log(
            `round ${round + 1} ${backing} ${profileLabel(p)} ${c.name}: ${(r.bytesPerSecond / 1e6).toFixed(1)} MB/s, ${Math.round(r.iops)} IOPS, ${r.cpuPerGiB.toFixed(3)} CPU s/GiB, ${targetKind} ${r.targetCpuPerGiB.toFixed(3)} CPU s/GiB`,
          );
        }
      }
    }
  }

  const command = `bun bench/compare.ts ${process.argv.slice(2).join(" ")}`.trim();
  let out = `Command: \`${command}\` (${rounds} rounds, medians; ${new Date().toISOString().slice(0, 10)}, ${navigator.hardwareConcurrency} CPUs, Bun ${Bun.version})\n`;
  for (const backing of backings) {
    const rows: Row[] = profiles.map((p) => {
      const byName = raw[backing]![profileLabel(p)]!;
      const med = (c: Contender, f: (r: RunResult) => number) =>
        byName[c.name] ? median(byName[c.name]!.map(f)) : undefined;
      return {
        profile: p,
        contenders: contenders.map((c) => ({
          name: c.name,
          rate: med(c, (r) => (p.blockSize >= 65536 ? r.bytesPerSecond : r.iops)),
          cpuPerGiB: med(c, (r) => r.cpuPerGiB),
          targetCpuPerGiB: med(c, (r) => r.targetCpuPerGiB!),
        })),
      };
    });
    const heading =
      targetKind === "null-target"
        ? "null target (bench/null-target)"
        : `tgtd \`${backing === "null" ? "null" : "file on tmpfs"}\` backing store`;
    out += `\n### ${heading}\n\n${formatTable(rows, ours, targetKind)}\n`;
  }
  if (Number(opts.soak) > 0) out += await soak(urlFor(backings[0]!), Number(opts.soak));
  process.stdout.write(out);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ command, profiles, raw }, null, 2));
} finally {
  await target.stop();
  await stopAllTargets();
}

/**
 * CPU seconds (user + system, all threads) a process has used so far, from /proc/PID/stat (fields 14 and 15,
 * in clock ticks of 1/100 s on Linux): how much of the target's time each contender's run cost.
 */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** One long `iscsi bench` run: does resident memory stay flat? */
async function soak(url: string, seconds: number): Promise<string> {
  log(`soak: read 1 MiB QD16 for ${seconds} s`);
  const argv = [
    process.execPath,
    `${import.meta.dir}/../src/main.ts`,
    "bench",
    url,
    "--rw",
    "read",
    "--bs",
    "1M",
    "--qd",
    "16",
    "--time",
    String(seconds),
    "--json",
  ];
  const p = Bun.spawn(pin ? ["taskset", "-c", pin, ...argv] : argv, { stdout: "pipe", stderr: "inherit" });
  const text = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error("soak run failed");
  const r = JSON.parse(text).results[0];
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  return (
    `\nSoak, read 1 MiB QD16 for ${seconds} s on the same LUN: ${r.mbPerSecond} MB/s; RSS at start ${mib(r.memory.rssStartBytes)} MiB, ` +
    `at end ${mib(r.memory.rssEndBytes)} MiB, peak ${mib(r.memory.peakRssBytes)} MiB; samples (MiB): ${r.memory.rssSamplesBytes.map(mib).join(" ")}\n`
  );
}
