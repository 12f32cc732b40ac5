// Medians and the Markdown table of `iscsi bench --compare` and bench/compare.ts: per profile each
// contender's median rate and CPU per GiB, and ours divided by the best peer's (above 1 means faster, or for
// CPU: below 1 means cheaper), optionally with the target's CPU per GiB beside each contender.
import type { Profile } from "./peers.ts";

export interface Row {
  profile: Profile;
  /** Median MB/s-in-bytes (large blocks) or IOPS (small blocks); undefined when a contender can't run it. */
  contenders: Array<{
    name: string;
    rate: number | undefined;
    cpuPerGiB: number | undefined;
    targetCpuPerGiB?: number | undefined;
  }>;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function profileLabel(p: Profile): string {
  const size = p.blockSize >= 1 << 20 ? `${p.blockSize >> 20} MiB` : `${p.blockSize >> 10} KiB`;
  return `${p.workload} ${size} QD${p.queueDepth}`;
}

const rateText = (p: Profile, v: number | undefined) =>
  v === undefined ? "–" : p.blockSize >= 65536 ? `${(v / 1e6).toFixed(0)} MB/s` : `${(v / 1000).toFixed(1)} k IOPS`;
const cpuText = (v: number | undefined) => (v === undefined ? "–" : v.toFixed(2));

/** `ours` are our builds (each gets ratio columns), every other contender is a peer; `target` names the target's CPU columns, if any. */
export function formatTable(rows: Row[], ours: string[], target?: string): string {
  const names = rows[0]?.contenders.map((c) => c.name) ?? [];
  const head = [
    "profile",
    ...names,
    ...ours.map((o) => `${o} ÷ best peer`),
    ...names.map((n) => `CPU s/GiB ${n}`),
    ...ours.map((o) => `CPU ${o} ÷ best peer`),
    ...(target ? names.map((n) => `${target} CPU s/GiB with ${n}`) : []),
  ];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`];
  for (const r of rows) {
    const peers = r.contenders.filter((c) => !ours.includes(c.name));
    const bestRate = Math.max(...peers.map((c) => c.rate ?? -Infinity));
    const bestCpu = Math.min(...peers.map((c) => c.cpuPerGiB ?? Infinity));
    const mine = ours.map((o) => r.contenders.find((c) => c.name === o)!);
    const ratios = mine.map((m) =>
      m.rate !== undefined && Number.isFinite(bestRate) ? `${(m.rate / bestRate).toFixed(2)}×` : "–",
    );
    const cpuRatios = mine.map((m) =>
      m.cpuPerGiB !== undefined && Number.isFinite(bestCpu) ? `${(m.cpuPerGiB / bestCpu).toFixed(2)}×` : "–",
    );
    lines.push(
      `| ${[profileLabel(r.profile), ...r.contenders.map((c) => rateText(r.profile, c.rate)), ...ratios, ...r.contenders.map((c) => cpuText(c.cpuPerGiB)), ...cpuRatios, ...(target ? r.contenders.map((c) => cpuText(c.targetCpuPerGiB)) : [])].join(" | ")} |`,
    );
  }
  return lines.join("\n");
}
