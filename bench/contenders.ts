// The initiators bench/compare.ts puts side by side, each run as its own process on the same LUN: our
// `iscsi bench`, libiscsi's `iscsi-perf` and `qemu-img bench` (qemu's libiscsi block driver). Each run
// reports throughput and the CPU time it used; a contender that cannot do a profile says so up front.
import { join } from "node:path";
import { withParentDeathSignal } from "../test/harness/processes.ts";

export interface Profile {
  /** fio-style: read, write (sequential), randread, randwrite. */
  workload: "read" | "write" | "randread" | "randwrite";
  blockSize: number;
  queueDepth: number;
}

export interface RunResult {
  bytesPerSecond: number;
  iops: number;
  /** CPU seconds (user + system) per GiB moved. */
  cpuPerGiB: number;
  /** Peak resident set size of the process. */
  maxRssBytes: number;
  /** Every byte the run moved, warm-up included (estimated for ours: the warm-up at the measured rate). */
  movedBytes: number;
  /** The target's CPU seconds over the run divided by movedBytes in GiB (set by bench/compare.ts). */
  targetCpuPerGiB?: number;
}

export interface RunSettings {
  url: string;
  seconds: number;
  warmupSeconds: number;
  /** Prefix argv with `taskset -c <cpus>`. */
  pin?: string;
}

export interface Contender {
  name: string;
  supports(p: Profile): boolean;
  /** Anything to do before a measured run that must not count against the target's CPU (qemu-img's sizing run). */
  prepare?(p: Profile, s: RunSettings): Promise<void>;
  run(p: Profile, s: RunSettings): Promise<RunResult>;
}

const GiB = 2 ** 30;
const MAIN = join(import.meta.dir, "../src/main.ts");

interface Finished {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  cpuSeconds: number;
  maxRssBytes: number;
}

/** Spawn, optionally pinned, stop with SIGINT after `stopAfterMs` if given, and collect output and rusage. */
async function spawnTool(argv: string[], pin: string | undefined, stopAfterMs?: number, hardLimitMs = 600_000): Promise<Finished> {
  const full = withParentDeathSignal(pin ? ["taskset", "-c", pin, ...argv] : argv);
  const child = Bun.spawn(full, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timers = [
    stopAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGINT"), stopAfterMs),
    setTimeout(() => child.kill("SIGKILL"), hardLimitMs),
  ];
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  for (const t of timers) clearTimeout(t);
  const usage = child.resourceUsage();
  return {
    stdout,
    stderr,
    exitCode: child.exitCode,
    cpuSeconds: usage ? Number(usage.cpuTime.total) / 1e6 : Number.NaN,
    maxRssBytes: usage?.maxRSS ?? Number.NaN,
  };
}

function failed(name: string, f: Finished): Error {
  return new Error(`${name} exited with ${f.exitCode}: ${(f.stderr + f.stdout).trim().slice(-1500)}`);
}

/**
 * Our initiator: `iscsi bench --json` from the tree whose entry is `main`, with `extra` arguments (e.g. the
 * transport); CPU is what it measured over its own window (after warm-up).
 */
export function iscsiBenchAt(main: string, name: string, extra: string[] = []): Contender {
  return {
    name,
    supports: () => true,
    async run(p, s) {
      const argv = [
        process.execPath, main, "bench", s.url, "--rw", p.workload, "--bs", String(p.blockSize), "--qd", String(p.queueDepth),
        "--time", String(s.seconds), "--warmup", String(s.warmupSeconds), "--destroy-data", "--json", ...extra,
      ];
      const f = await spawnTool(argv, s.pin);
      if (f.exitCode !== 0) throw failed(name, f);
      const r = JSON.parse(f.stdout).results[0];
      const bytesPerSecond = r.mbPerSecond * 1e6;
      return {
        bytesPerSecond, iops: r.iops, cpuPerGiB: r.cpu.secondsPerGiB, maxRssBytes: r.memory.peakRssBytes,
        movedBytes: Number(r.bytes) + bytesPerSecond * s.warmupSeconds,
      };
    },
  };
}

/** This tree with its default transport (what a user gets; the JSON says which). */
export const iscsiBench = iscsiBenchAt(MAIN, "iscsi bench");
/** The same tree on the native transport (src/transport/native.ts). */
export const iscsiBenchNative = iscsiBenchAt(MAIN, "iscsi bench native", ["--transport", "native"]);
/** The same tree on Bun's own sockets (src/transport/tcp.ts). */
export const iscsiBenchBun = iscsiBenchAt(MAIN, "iscsi bench bun", ["--transport", "bun"]);

/**
 * libiscsi's iscsi-perf: READ(16) only, sequential or random, runs until SIGINT and prints one line a second
 * ("iops current N"). Seconds after the warm-up are averaged; CPU is the whole process over the bytes it read.
 */
export const iscsiPerf: Contender = {
  name: "iscsi-perf",
  supports: (p) => p.workload === "read" || p.workload === "randread",
  async run(p, s) {
    const argv = ["iscsi-perf", "-m", String(p.queueDepth), "-b", String(p.blockSize / 512), ...(p.workload === "randread" ? ["-r"] : []), s.url];
    const totalS = s.seconds + s.warmupSeconds;
    // The per-second lines need a little slack to print the last full second before the stop.
    const f = await spawnTool(argv, s.pin, (totalS + 0.5) * 1000);
    const perSecond = [...f.stdout.matchAll(/iops current (\d+)/g)].map((m) => Number(m[1]));
    if (perSecond.length < 1) throw failed("iscsi-perf", f);
    const measured = perSecond.slice(Math.min(Math.round(s.warmupSeconds), perSecond.length - 1), Math.round(totalS));
    const iops = measured.reduce((a, b) => a + b, 0) / measured.length;
    const allBytes = perSecond.reduce((a, b) => a + b, 0) * p.blockSize;
    return { bytesPerSecond: iops * p.blockSize, iops, cpuPerGiB: f.cpuSeconds / (allBytes / GiB), maxRssBytes: f.maxRssBytes, movedBytes: allBytes };
  },
};

/** Requests per second qemu-img managed last time, per profile: sizes the next run to about `seconds`. */
const qemuRate = new Map<string, number>();
const key = (p: Profile) => `${p.workload}/${p.blockSize}/${p.queueDepth}`;

/**
 * `qemu-img bench`: sequential only (step = buffer size, wrapping at the end of the image), a fixed request
 * count; it prints "Run completed in X seconds". CPU is the whole process (start-up included) over the bytes.
 */
export const qemuImgBench: Contender = {
  name: "qemu-img bench",
  supports: (p) => p.workload === "read" || p.workload === "write",
  async prepare(p, s) {
    if (!qemuRate.has(key(p))) qemuRate.set(key(p), await calibrate(p, s));
  },
  async run(p, s) {
    const rate = qemuRate.get(key(p)) ?? (await calibrate(p, s));
    const count = Math.max(1, Math.round(rate * s.seconds));
    const f = await spawnTool(qemuArgv(p, s.url, count), s.pin);
    const m = /Run completed in ([\d.]+) seconds/.exec(f.stdout);
    if (f.exitCode !== 0 || !m) throw failed("qemu-img bench", f);
    const elapsed = Number(m[1]);
    qemuRate.set(key(p), count / elapsed);
    const bytes = count * p.blockSize;
    return { bytesPerSecond: bytes / elapsed, iops: count / elapsed, cpuPerGiB: f.cpuSeconds / (bytes / GiB), maxRssBytes: f.maxRssBytes, movedBytes: bytes };
  },
};

function qemuArgv(p: Profile, url: string, count: number): string[] {
  return [
    "qemu-img", "bench", "-f", "raw", "-t", "none", ...(p.workload === "write" ? ["-w"] : []),
    "-c", String(count), "-d", String(p.queueDepth), "-s", String(p.blockSize), url,
  ];
}

/** A short untimed run to learn roughly how many requests a second qemu-img does on this profile. */
async function calibrate(p: Profile, s: RunSettings): Promise<number> {
  const count = Math.max(16, Math.round((p.blockSize >= 1 << 20 ? 500e6 : 10_000 * p.blockSize) / p.blockSize));
  const f = await spawnTool(qemuArgv(p, s.url, count), s.pin);
  const m = /Run completed in ([\d.]+) seconds/.exec(f.stdout);
  if (f.exitCode !== 0 || !m) throw failed("qemu-img bench", f);
  return count / Math.max(0.001, Number(m[1]));
}

export const CONTENDERS: Contender[] = [iscsiBench, iscsiPerf, qemuImgBench];
