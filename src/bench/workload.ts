// The I/O generator behind `iscsi bench`: sequential or random reads or writes of one block size at a fixed
// queue depth, for a time or a byte count after a warm-up, through the same LogicalUnit calls a block
// client uses. Buffers are allocated once per slot, so a run's memory does not grow with its length.
import { IscsiError } from "../contract/errors.ts";
import type { LogicalUnit } from "../session/logical-unit.ts";
import { LatencyHistogram, type LatencySummary } from "./histogram.ts";
import { ResourceSampler, type ResourceReport } from "./sampler.ts";

/** fio's names: read and write are sequential. */
export const WORKLOADS = ["read", "write", "randread", "randwrite"] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export const MAX_QUEUE_DEPTH = 128;
const MAX_BLOCK_SIZE = 16 << 20;

export interface Workload {
  name: WorkloadName;
  blockSize: number;
  queueDepth: number;
  /** Stop issuing after this long (measured part only)… */
  durationMs?: number;
  /** …or after this many bytes were issued in the measured part. One of the two. */
  bytes?: number;
  /** Run the workload this long before measuring (JIT, TCP windows and target caches settle). */
  warmupMs: number;
  /** Byte range of the LUN the workload stays in. */
  offset: number;
  span: number;
}

export interface WorkloadResult {
  workload: WorkloadName;
  blockSize: number;
  queueDepth: number;
  seconds: number;
  ios: number;
  bytes: number;
  mbPerSecond: number;
  iops: number;
  latency: LatencySummary;
  cpu: { userSeconds: number; systemSeconds: number; secondsPerGiB: number };
  memory: Pick<ResourceReport, "peakRssBytes" | "rssStartBytes" | "rssEndBytes" | "rssSamplesBytes">;
}

/** Check a workload against the LUN before any I/O; problems are INVALID_ARGUMENT naming the value. */
export function checkWorkload(w: Workload, lu: LogicalUnit): void {
  const cap = lu.capacity;
  if (!cap) throw new IscsiError("INTERNAL", "readCapacity() must run before a benchmark");
  const bad = (msg: string) => new IscsiError("INVALID_ARGUMENT", msg);
  if (!WORKLOADS.includes(w.name)) throw bad(`unknown workload ${JSON.stringify(w.name)}: use ${WORKLOADS.join(", ")}`);
  if (
    !Number.isSafeInteger(w.blockSize) ||
    w.blockSize < cap.blockSize ||
    w.blockSize > MAX_BLOCK_SIZE ||
    w.blockSize % cap.blockSize !== 0
  ) {
    throw bad(
      `block size ${w.blockSize} must be a multiple of the LUN's ${cap.blockSize}-byte blocks, at most ${MAX_BLOCK_SIZE}`,
    );
  }
  if (!Number.isInteger(w.queueDepth) || w.queueDepth < 1 || w.queueDepth > MAX_QUEUE_DEPTH)
    throw bad(`queue depth ${w.queueDepth} is outside 1..${MAX_QUEUE_DEPTH}`);
  if ((w.durationMs === undefined) === (w.bytes === undefined)) throw bad("give either a duration or a byte count");
  if (w.durationMs !== undefined && !(w.durationMs > 0)) throw bad(`duration ${w.durationMs} ms must be positive`);
  if (w.bytes !== undefined && !(w.bytes > 0)) throw bad(`byte count ${w.bytes} must be positive`);
  if (w.offset % cap.blockSize !== 0 || w.offset < 0)
    throw bad(`offset ${w.offset} must be a non-negative multiple of ${cap.blockSize}`);
  if (w.span < w.blockSize || BigInt(w.offset + w.span) > cap.bytes) {
    throw bad(
      `range ${w.offset}+${w.span} must hold one ${w.blockSize}-byte I/O and end within the LUN (${cap.bytes} bytes)`,
    );
  }
}

/** Run one workload; rejects with the first I/O error once the I/Os in flight have settled. */
export async function runWorkload(lu: LogicalUnit, w: Workload): Promise<WorkloadResult> {
  checkWorkload(w, lu);
  const lbaSize = lu.capacity!.blockSize;
  const blocks = w.blockSize / lbaSize;
  const write = w.name === "write" || w.name === "randwrite";
  const slots = Math.floor(w.span / w.blockSize);
  const firstLba = w.offset / lbaSize;
  let seqSlot = 0;
  const nextLba =
    w.name === "read" || w.name === "write"
      ? () => {
          const s = seqSlot;
          seqSlot = seqSlot + 1 === slots ? 0 : seqSlot + 1;
          return firstLba + s * blocks;
        }
      : () => firstLba + Math.floor(Math.random() * slots) * blocks;

  const buffers = Array.from({ length: w.queueDepth }, () => new Uint8Array(w.blockSize));
  if (write) for (const b of buffers) fillPattern(b);

  const histogram = new LatencyHistogram();
  const sampler = new ResourceSampler();
  const measureAfter = performance.now() + w.warmupMs;
  let windowStart = -1; // performance.now() when measuring began
  let issued = 0; // bytes issued since then
  let ios = 0;
  let failure: unknown;
  const stopIssuing = (now: number) =>
    failure !== undefined ||
    (windowStart >= 0 && (w.durationMs !== undefined ? now - windowStart >= w.durationMs : issued >= w.bytes!));

  // One clock read per I/O: a completion's time is also when the next I/O of the slot is issued.
  const worker = async (buffer: Uint8Array) => {
    let started = performance.now();
    for (;;) {
      if (windowStart < 0 && started >= measureAfter) {
        windowStart = started;
        sampler.start();
      }
      if (stopIssuing(started)) return;
      if (windowStart >= 0) issued += w.blockSize;
      const lba = BigInt(nextLba());
      try {
        if (write) await lu.write(lba, buffer);
        else await lu.read(lba, blocks, buffer);
      } catch (err) {
        failure ??= err;
        return;
      }
      const now = performance.now();
      if (windowStart >= 0) {
        histogram.record((now - started) * 1000);
        ios++;
      }
      started = now;
    }
  };
  await Promise.all(buffers.map(worker));
  const seconds = (performance.now() - windowStart) / 1000;
  if (failure !== undefined) {
    if (windowStart >= 0) sampler.stop();
    throw failure;
  }
  const res = sampler.stop();
  const bytes = ios * w.blockSize;
  const cpuSeconds = res.userSeconds + res.systemSeconds;
  return {
    workload: w.name,
    blockSize: w.blockSize,
    queueDepth: w.queueDepth,
    seconds,
    ios,
    bytes,
    mbPerSecond: bytes / 1e6 / seconds,
    iops: ios / seconds,
    latency: histogram.summary(),
    cpu: {
      userSeconds: res.userSeconds,
      systemSeconds: res.systemSeconds,
      secondsPerGiB: bytes === 0 ? 0 : cpuSeconds / (bytes / 2 ** 30),
    },
    memory: {
      peakRssBytes: res.peakRssBytes,
      rssStartBytes: res.rssStartBytes,
      rssEndBytes: res.rssEndBytes,
      rssSamplesBytes: res.rssSamplesBytes,
    },
  };
}

/** Non-zero, non-repeating-looking bytes, so a write is not all zeros (some targets treat those specially). */
function fillPattern(b: Uint8Array): void {
  for (let at = 0; at < b.length; at += 65536) crypto.getRandomValues(b.subarray(at, Math.min(b.length, at + 65536)));
}
