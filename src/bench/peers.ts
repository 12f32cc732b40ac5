// Other initiators run against the same LUN as `iscsi bench`, for a side-by-side figure: libiscsi's
// iscsi-perf (reads only) and `qemu-img bench` (qemu's libiscsi driver; sequential reads and writes), each as
// its own process, reporting throughput and the CPU time it used. Used by `iscsi bench --compare` and by
// bench/compare.ts.

export interface Profile {
  /** fio-style: read, write (sequential), randread, randwrite. */
  workload: "read" | "write" | "randread" | "randwrite";
  blockSize: number;
  queueDepth: number;
}

/** WORKLOAD:SIZE:QD, e.g. read:1M:16 or randread:4k:32 (the benchmark scripts' profile syntax). */
export function parseProfile(text: string): Profile {
  const [workload, bs, qd] = text.split(":");
  const size = /^(\d+)([kKmM]?)$/.exec(bs ?? "");
  if (!["read", "write", "randread", "randwrite"].includes(workload!) || !size || !/^\d+$/.test(qd ?? "")) {
    throw new Error(`profile ${JSON.stringify(text)}: expected WORKLOAD:SIZE:QD, e.g. read:1M:16`);
  }
  const mult = { "": 1, k: 1024, m: 1 << 20 }[size[2]!.toLowerCase()]!;
  return { workload: workload as Profile["workload"], blockSize: Number(size[1]) * mult, queueDepth: Number(qd) };
}

export interface PeerResult {
  bytesPerSecond: number;
  iops: number;
  /** CPU seconds (user + system) per GiB moved. */
  cpuPerGiB: number;
  /** Peak resident set size of the process. */
  maxRssBytes: number;
  /** Every byte the run moved, warm-up included. */
  movedBytes: number;
}

export interface PeerSettings {
  url: string;
  seconds: number;
  warmupSeconds: number;
  /** Rewrites each argv before it is spawned (e.g. `taskset -c N` in front). */
  wrap?: (argv: string[]) => string[];
}

export interface Peer {
  name: string;
  /** The tool's executable, looked up on PATH. */
  tool: string;
  supports(p: Profile): boolean;
  /** Anything to do before a measured run that must not count against the target's CPU (qemu-img's sizing run). */
  prepare?(p: Profile, s: PeerSettings): Promise<void>;
  run(p: Profile, s: PeerSettings): Promise<PeerResult>;
}

const GiB = 2 ** 30;

export interface Finished {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  cpuSeconds: number;
  maxRssBytes: number;
}

/** Spawn (through `wrap`), stop with SIGINT after `stopAfterMs` if given (SIGKILL after `hardLimitMs`), collect output and rusage. */
export async function spawnMeasured(
  argv: string[],
  wrap?: (argv: string[]) => string[],
  stopAfterMs?: number,
  hardLimitMs = 600_000,
): Promise<Finished> {
  const child = Bun.spawn(wrap ? wrap(argv) : argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timers = [
    stopAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGINT"), stopAfterMs),
    setTimeout(() => child.kill("SIGKILL"), hardLimitMs),
  ];
  const [stdout, stderr] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
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

export class PeerFailed extends Error {
  constructor(name: string, f: Finished) {
    super(`${name} exited with ${f.exitCode}: ${(f.stderr + f.stdout).trim().slice(-1500)}`);
    this.name = "PeerFailed";
  }
}

/**
 * iscsi-perf: READ(16) only, sequential or random, runs until SIGINT and prints one line a second
 * ("iops current N"). Seconds after the warm-up are averaged; CPU is the whole process over the bytes it read.
 */
export const iscsiPerf: Peer = {
  name: "iscsi-perf",
  tool: "iscsi-perf",
  supports: (p) => p.workload === "read" || p.workload === "randread",
  async run(p, s) {
    const argv = [
      "iscsi-perf",
      "-m",
      String(p.queueDepth),
      "-b",
      String(p.blockSize / 512),
      ...(p.workload === "randread" ? ["-r"] : []),
      s.url,
    ];
    const totalS = s.seconds + s.warmupSeconds;
    // The per-second lines need a little slack to print the last full second before the stop.
    const f = await spawnMeasured(argv, s.wrap, (Math.max(1, totalS) + 0.5) * 1000);
    const perSecond = [...f.stdout.matchAll(/iops current (\d+)/g)].map((m) => Number(m[1]));
    if (perSecond.length < 1) throw new PeerFailed("iscsi-perf", f);
    const measured = perSecond.slice(
      Math.min(Math.round(s.warmupSeconds), perSecond.length - 1),
      Math.max(1, Math.round(totalS)),
    );
    const iops = measured.reduce((a, b) => a + b, 0) / measured.length;
    const allBytes = perSecond.reduce((a, b) => a + b, 0) * p.blockSize;
    return {
      bytesPerSecond: iops * p.blockSize,
      iops,
      cpuPerGiB: f.cpuSeconds / (allBytes / GiB),
      maxRssBytes: f.maxRssBytes,
      movedBytes: allBytes,
    };
  },
};

/** Requests per second qemu-img managed last time, per URL and profile: sizes the next run to about `seconds`. */
const qemuRate = new Map<string, number>();
const key = (p: Profile, s: PeerSettings) => `${s.url} ${p.workload}/${p.blockSize}/${p.queueDepth}`;

function qemuArgv(p: Profile, url: string, count: number): string[] {
  return [
    "qemu-img",
    "bench",
    "-f",
    "raw",
    "-t",
    "none",
    ...(p.workload === "write" ? ["-w"] : []),
    "-c",
    String(count),
    "-d",
    String(p.queueDepth),
    "-s",
    String(p.blockSize),
    url,
  ];
}

/** One qemu-img bench run of `count` requests: its elapsed seconds as it reports them, and the process's figures. */
async function qemuRun(p: Profile, s: PeerSettings, count: number): Promise<{ elapsed: number; f: Finished }> {
  const f = await spawnMeasured(qemuArgv(p, s.url, count), s.wrap);
  const m = /Run completed in ([\d.]+) seconds/.exec(f.stdout);
  if (f.exitCode !== 0 || !m) throw new PeerFailed("qemu-img bench", f);
  return { elapsed: Math.max(0.001, Number(m[1])), f };
}

/**
 * `qemu-img bench`: sequential only (step = buffer size, wrapping at the end of the image), a fixed request
 * count sized by a short untimed run; it prints "Run completed in X seconds". CPU is the whole process
 * (start-up included) over the bytes.
 */
export const qemuImgBench: Peer = {
  name: "qemu-img bench",
  tool: "qemu-img",
  supports: (p) => p.workload === "read" || p.workload === "write",
  async prepare(p, s) {
    if (qemuRate.has(key(p, s))) return;
    const count = Math.max(16, Math.round((p.blockSize >= 1 << 20 ? 500e6 : 10_000 * p.blockSize) / p.blockSize));
    qemuRate.set(key(p, s), count / (await qemuRun(p, s, count)).elapsed);
  },
  async run(p, s) {
    await this.prepare!(p, s);
    const count = Math.max(1, Math.round(qemuRate.get(key(p, s))! * Math.max(0.1, s.seconds)));
    const { elapsed, f } = await qemuRun(p, s, count);
    qemuRate.set(key(p, s), count / elapsed);
    const bytes = count * p.blockSize;
    return {
      bytesPerSecond: bytes / elapsed,
      iops: count / elapsed,
      cpuPerGiB: f.cpuSeconds / (bytes / GiB),
      maxRssBytes: f.maxRssBytes,
      movedBytes: bytes,
    };
  },
};

export const PEERS: Peer[] = [iscsiPerf, qemuImgBench];

/** The peers whose tool is installed on this machine. */
export function installedPeers(): Peer[] {
  return PEERS.filter((p) => Bun.which(p.tool) !== null);
}
