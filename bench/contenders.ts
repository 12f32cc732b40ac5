// The initiators bench/compare.ts puts side by side, each run as its own process on the same LUN: our
// `iscsi bench` (this tree or another checkout, on either transport) and the peers of src/bench/peers.ts,
// libiscsi's `iscsi-perf` and `qemu-img bench`, pinned with taskset when asked. Each run reports throughput
// and the CPU time it used; a contender that cannot do a profile says so up front.
import { join } from "node:path";
import {
  iscsiPerf as peerIscsiPerf,
  PeerFailed,
  qemuImgBench as peerQemuImgBench,
  spawnMeasured,
  type Peer,
  type PeerResult,
  type Profile,
} from "../src/bench/peers.ts";
import { withParentDeathSignal } from "../test/harness/processes.ts";

export type { Profile };

/** movedBytes is estimated for ours: the warm-up at the measured rate. */
export interface RunResult extends PeerResult {
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

const MAIN = join(import.meta.dir, "../src/main.ts");
/** Pinned with taskset when asked, and killed by the kernel if this script dies. */
const wrapFor = (s: RunSettings) => (argv: string[]) =>
  withParentDeathSignal(s.pin ? ["taskset", "-c", s.pin, ...argv] : argv);

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
        process.execPath,
        main,
        "bench",
        s.url,
        "--rw",
        p.workload,
        "--bs",
        String(p.blockSize),
        "--qd",
        String(p.queueDepth),
        "--time",
        String(s.seconds),
        "--warmup",
        String(s.warmupSeconds),
        "--destroy-data",
        "--json",
        ...extra,
      ];
      const f = await spawnMeasured(argv, wrapFor(s));
      if (f.exitCode !== 0) throw new PeerFailed(name, f);
      const r = JSON.parse(f.stdout).results[0];
      const bytesPerSecond = r.mbPerSecond * 1e6;
      return {
        bytesPerSecond,
        iops: r.iops,
        cpuPerGiB: r.cpu.secondsPerGiB,
        maxRssBytes: r.memory.peakRssBytes,
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

/** A peer from src/bench/peers.ts (iscsi-perf, qemu-img bench), pinned and bound to our lifetime. */
function fromPeer(peer: Peer): Contender {
  const settings = (s: RunSettings) => ({ ...s, wrap: wrapFor(s) });
  return {
    name: peer.name,
    supports: (p) => peer.supports(p),
    prepare: peer.prepare ? (p, s) => peer.prepare!(p, settings(s)) : undefined,
    run: (p, s) => peer.run(p, settings(s)),
  };
}

export const iscsiPerf = fromPeer(peerIscsiPerf);
export const qemuImgBench = fromPeer(peerQemuImgBench);

export const CONTENDERS: Contender[] = [iscsiBench, iscsiPerf, qemuImgBench];
