// `iscsi bench --compare`: checks what the comparison can honour, runs ours and the installed peers in turns
// on the user's LUN (src/bench/compare.ts) and prints the side-by-side table, human or JSON.
import { compareInTurns, OURS, toRows, verdict } from "../bench/compare.ts";
import { installedPeers, type Profile } from "../bench/peers.ts";
import { IscsiError } from "../contract/errors.ts";
import type { LogicalUnit } from "../session/logical-unit.ts";
import { formatPortal } from "../transport/portal.ts";
import { formatBytes, printJson, printTable, type LunAddress } from "./_shared.ts";

export interface CompareArgs {
  profiles: Profile[];
  seconds: number;
  warmupSeconds: number;
  rounds: number;
  json: boolean;
}

const LIMIT_TEXT = {
  target: "target or network (all within 10 %)",
  initiator: "this initiator (a peer is faster)",
  peers: "the peers (iscsi is faster)",
  unknown: "–",
};

/** Refuses what the peers cannot do the same way: a byte budget, a sub-range, CHAP (its secret would reach their argv). */
export function checkCompareArgs(
  args: { bytes?: string; offset?: string; span?: string },
  auth: { method: string },
): void {
  if (args.bytes)
    throw new IscsiError("INVALID_ARGUMENT", "--compare runs for --time; --bytes cannot be given to the peers");
  if (args.offset || args.span)
    throw new IscsiError("INVALID_ARGUMENT", "--compare uses the whole LUN as the peers do: drop --offset and --span");
  if (auth.method !== "None")
    throw new IscsiError(
      "INVALID_ARGUMENT",
      "--compare needs a LUN without CHAP: the peers would need the secret on their command line",
    );
}

export async function runCompare(lu: LogicalUnit, addr: LunAddress, a: CompareArgs): Promise<void> {
  const peers = installedPeers();
  if (peers.length === 0)
    throw new IscsiError(
      "NOT_SUPPORTED",
      "--compare needs iscsi-perf (libiscsi-bin) or qemu-img (qemu-utils with qemu-block-extra) on PATH; neither was found",
    );
  const url = `iscsi://${formatPortal(addr.portal)}/${addr.target}/${addr.lun}`;
  const progress = !a.json && process.stderr.isTTY;
  const results = await compareInTurns(lu, a.profiles, {
    url,
    seconds: a.seconds,
    warmupSeconds: a.warmupSeconds,
    rounds: a.rounds,
    peers,
    onRun: (round, p, name, r) => {
      if (progress)
        process.stderr.write(
          `round ${round + 1}/${a.rounds} ${p.workload} ${formatBytes(p.blockSize)} QD${p.queueDepth} ${name}: ${(r.bytesPerSecond / 1e6).toFixed(1)} MB/s, ${Math.round(r.iops)} IOPS\n`,
        );
    },
  });
  const names = [OURS, ...peers.map((p) => p.name)];
  const rows = toRows(results, names);
  if (a.json) {
    printJson({
      url,
      rounds: a.rounds,
      seconds: a.seconds,
      peers: peers.map((p) => p.name),
      results: rows.map((row, i) => ({
        ...row.profile,
        ...verdict(row),
        contenders: row.contenders.map((c) => ({ ...c, runs: results[i]!.runs[c.name] ?? [] })),
      })),
    });
    return;
  }
  const rate = (p: Profile, v: number | undefined) =>
    v === undefined ? "–" : p.blockSize >= 65536 ? `${(v / 1e6).toFixed(0)} MB/s` : `${(v / 1000).toFixed(1)} k IOPS`;
  const cpu = (v: number | undefined) => (v === undefined ? "–" : v.toFixed(2));
  printTable(
    ["workload", "bs", "qd", ...names, `${OURS} ÷ best peer`, ...names.map((n) => `CPU s/GiB ${n}`), "limit"],
    rows.map((row) => {
      const v = verdict(row);
      return [
        row.profile.workload,
        formatBytes(row.profile.blockSize),
        row.profile.queueDepth,
        ...row.contenders.map((c) => rate(row.profile, c.rate)),
        v.ratio === undefined ? "–" : `${v.ratio.toFixed(2)}×`,
        ...row.contenders.map((c) => cpu(c.cpuPerGiB)),
        LIMIT_TEXT[v.limit],
      ];
    }),
  );
}
