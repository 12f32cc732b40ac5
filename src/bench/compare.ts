// `iscsi bench --compare`: our workload runner and the installed peers (iscsi-perf, qemu-img bench) on the
// same LUN in turns, the order rotating every round, then each profile's medians and what they suggest: if
// every initiator lands at about the same rate the target (or the network) is the limit, not the initiator.
import type { LogicalUnit } from "../session/logical-unit.ts";
import { median, type Row } from "./compare-table.ts";
import type { Peer, Profile } from "./peers.ts";
import { runWorkload } from "./workload.ts";

export const OURS = "iscsi";

export interface CompareOptions {
  /** The LUN as the peers address it: iscsi://host:port/IQN/LUN. */
  url: string;
  seconds: number;
  warmupSeconds: number;
  rounds: number;
  peers: Peer[];
  /** Told about each run as it ends (progress). */
  onRun?: (round: number, profile: Profile, name: string, rate: { bytesPerSecond: number; iops: number }) => void;
}

interface Sample {
  bytesPerSecond: number;
  iops: number;
  cpuPerGiB: number;
}

export interface CompareResult {
  profile: Profile;
  /** Every run of every contender, in the order they ran (ours under OURS). */
  runs: Record<string, Sample[]>;
}

/** Runs every profile `rounds` times with ours and each peer that supports it taking turns. */
export async function compareInTurns(
  lu: LogicalUnit,
  profiles: Profile[],
  o: CompareOptions,
): Promise<CompareResult[]> {
  const results: CompareResult[] = profiles.map((profile) => ({ profile, runs: {} }));
  const capacity = Number(lu.capacity!.bytes);
  for (let round = 0; round < o.rounds; round++) {
    for (const [i, r] of results.entries()) {
      const p = r.profile;
      const who = [OURS, ...o.peers.filter((peer) => peer.supports(p)).map((peer) => peer.name)];
      const turn = (round + i) % who.length;
      for (const name of [...who.slice(turn), ...who.slice(0, turn)]) {
        const s =
          name === OURS
            ? await runOurs(lu, p, o, capacity)
            : await runPeer(o.peers.find((x) => x.name === name)!, p, o);
        (r.runs[name] ??= []).push(s);
        o.onRun?.(round, p, name, s);
      }
    }
  }
  return results;
}

async function runOurs(lu: LogicalUnit, p: Profile, o: CompareOptions, capacity: number): Promise<Sample> {
  const w = await runWorkload(lu, {
    name: p.workload,
    blockSize: p.blockSize,
    queueDepth: p.queueDepth,
    warmupMs: o.warmupSeconds * 1000,
    durationMs: o.seconds * 1000,
    offset: 0,
    span: capacity,
  });
  return { bytesPerSecond: w.mbPerSecond * 1e6, iops: w.iops, cpuPerGiB: w.cpu.secondsPerGiB };
}

async function runPeer(peer: Peer, p: Profile, o: CompareOptions): Promise<Sample> {
  const settings = { url: o.url, seconds: o.seconds, warmupSeconds: o.warmupSeconds };
  await peer.prepare?.(p, settings);
  const r = await peer.run(p, settings);
  return { bytesPerSecond: r.bytesPerSecond, iops: r.iops, cpuPerGiB: r.cpuPerGiB };
}

/** Medians per contender, in the table's row form (ours first, then the peers in `names` order). */
export function toRows(results: CompareResult[], names: string[]): Row[] {
  return results.map(({ profile, runs }) => ({
    profile,
    contenders: names.map((name) => {
      const xs = runs[name];
      return {
        name,
        rate: xs ? median(xs.map((x) => (profile.blockSize >= 65536 ? x.bytesPerSecond : x.iops))) : undefined,
        cpuPerGiB: xs ? median(xs.map((x) => x.cpuPerGiB)) : undefined,
      };
    }),
  }));
}

/** What a row suggests: ours against the best peer, within ±10 % counting as "the same". */
export function verdict(row: Row): { ratio: number | undefined; limit: "target" | "initiator" | "peers" | "unknown" } {
  const ours = row.contenders.find((c) => c.name === OURS)?.rate;
  const best = Math.max(...row.contenders.filter((c) => c.name !== OURS).map((c) => c.rate ?? -Infinity));
  if (ours === undefined || !Number.isFinite(best) || best <= 0) return { ratio: undefined, limit: "unknown" };
  const ratio = ours / best;
  return { ratio, limit: ratio < 0.9 ? "initiator" : ratio > 1.1 ? "peers" : "target" };
}
