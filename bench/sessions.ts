// Scaling over the machine's cores: N sessions to one LU, each an `iscsi bench` process of its own (so each
// has a core's worth of JavaScript thread), against one session, in turns on the same target; the figure is
// the aggregate rate of N sessions over the rate of one (medians of the rounds).
//
//   bun bench/sessions.ts [--target null-target|tgtd] [--rounds 3] [--time 5] [--warmup 1] [--profile read:1M:16]
//                         [--sessions 2] [--pin] [--extra "--connections 2"]
//
// --pin puts session i on CPU i (mod the CPU count) and a lone session on CPU 0; without it the kernel
// places them. --extra passes more arguments to every `iscsi bench` (e.g. MC/S connections, once available).
import { parseArgs } from "node:util";
import { median } from "../src/bench/compare-table.ts";
import { parseProfile } from "../src/bench/peers.ts";
import { stopAllTargets } from "../test/harness/processes.ts";
import { startNullTarget } from "../test/harness/null-target.ts";
import { startTgtd } from "../test/harness/tgtd.ts";
import { iscsiBenchAt, type RunResult } from "./contenders.ts";

const { values: opts } = parseArgs({
  options: {
    target: { type: "string", default: "null-target" },
    rounds: { type: "string", default: "3" },
    time: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    profile: { type: "string", default: "read:1M:16" },
    sessions: { type: "string", default: "2" },
    pin: { type: "boolean", default: false },
    extra: { type: "string", default: "" },
  },
});
const profile = parseProfile(opts.profile!);
const n = Number(opts.sessions);
const cpus = navigator.hardwareConcurrency;
const ours = iscsiBenchAt(`${import.meta.dir}/../src/main.ts`, "iscsi bench", opts.extra ? opts.extra.split(" ") : []);
const log = (s: string) => process.stderr.write(`${s}\n`);

const target = opts.target === "tgtd" ? await startTgtd({ luns: [{ null: true }] }) : await startNullTarget();
const url =
  opts.target === "tgtd"
    ? `iscsi://${target.portal}/${target.targets[0]!.iqn}/1`
    : `iscsi://${target.portal}/${target.targets[0]!.iqn}/0`;
try {
  const settings = (i: number) => ({
    url,
    seconds: Number(opts.time),
    warmupSeconds: Number(opts.warmup),
    ...(opts.pin ? { pin: String(i % cpus) } : {}),
  });
  const one: number[] = [];
  const many: number[] = [];
  const cpuOne: number[] = [];
  const cpuMany: number[] = [];
  for (let round = 0; round < Number(opts.rounds); round++) {
    // Alternate which goes first, so neither always runs right after the other warmed the target.
    for (const count of round % 2 ? [n, 1] : [1, n]) {
      const runs: RunResult[] = await Promise.all(
        Array.from({ length: count }, (_, i) => ours.run(profile, settings(i))),
      );
      const rate = runs.reduce((a, r) => a + r.bytesPerSecond, 0);
      const cpu = runs.reduce((a, r) => a + r.cpuPerGiB * r.bytesPerSecond, 0) / rate;
      (count === 1 ? one : many).push(rate);
      (count === 1 ? cpuOne : cpuMany).push(cpu);
      log(
        `round ${round + 1}: ${count} session(s): ${(rate / 1e6).toFixed(0)} MB/s (${runs.map((r) => (r.bytesPerSecond / 1e6).toFixed(0)).join(" + ")}), ${cpu.toFixed(2)} CPU s/GiB`,
      );
    }
  }
  const command = `bun bench/sessions.ts ${process.argv.slice(2).join(" ")}`.trim();
  process.stdout.write(
    `Command: \`${command}\` (${opts.rounds} rounds, medians; ${new Date().toISOString().slice(0, 10)}, ${cpus} CPUs, Bun ${Bun.version})\n\n` +
      `| ${opts.profile} on ${opts.target} | 1 session | ${n} sessions | ${n} ÷ 1 |\n|---|---:|---:|---:|\n` +
      `| MB/s | ${(median(one) / 1e6).toFixed(0)} | ${(median(many) / 1e6).toFixed(0)} | ${(median(many) / median(one)).toFixed(2)}× |\n` +
      `| CPU s/GiB (all sessions) | ${median(cpuOne).toFixed(2)} | ${median(cpuMany).toFixed(2)} | ${(median(cpuMany) / median(cpuOne)).toFixed(2)}× |\n` +
      `\nRound by round (${n} ÷ 1 within each round, which a drifting machine load affects least): ${many.map((m, i) => (m / one[i]!).toFixed(2)).join(" ")}; median ${median(many.map((m, i) => m / one[i]!)).toFixed(2)}×\n`,
  );
} finally {
  await target.stop();
  await stopAllTargets();
}
