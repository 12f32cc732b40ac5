// `iscsi bench LUN`: throughput, IOPS, latency, CPU and memory of this initiator against a LUN, for every
// combination of the workloads, block sizes and queue depths asked for, over one session (of one or, with
// --connections, several TCP connections).
import { defineCommand } from "citty";
import { runWorkload, WORKLOADS, type Workload, type WorkloadName, type WorkloadResult } from "../bench/workload.ts";
import { startLocalTgtd, type LocalTgtd } from "../demo/local-tgtd.ts";
import { IscsiError } from "../contract/errors.ts";
import { resolveTransport, TRANSPORT_CHOICES } from "../transport/connect.ts";
import {
  authFrom,
  formatBytes,
  jsonArg,
  lunAddressFrom,
  lunArgs,
  parseIscsiUrl,
  parseSize,
  printJson,
  printTable,
  type LunAddress,
} from "./_shared.ts";
import { closeLun, openLun } from "./_session.ts";
import { checkCompareArgs, runCompare } from "./_bench-compare.ts";

export default defineCommand({
  meta: { name: "bench", description: "Measure throughput, IOPS, latency and CPU against a LUN" },
  args: {
    ...lunArgs,
    local: {
      type: "boolean",
      description: "Start a throwaway local tgtd with a `null` LUN and benchmark that",
      default: false,
    },
    rw: { type: "string", description: `Workloads, comma-separated: ${WORKLOADS.join(", ")} (default read)` },
    bs: { type: "string", description: "Block sizes, comma-separated, e.g. 4k,1M (default 1M)" },
    qd: { type: "string", description: "Queue depths 1..128, comma-separated (default 16)" },
    time: { type: "string", description: "Seconds each workload runs after warm-up (default 10)" },
    bytes: { type: "string", description: "Bytes each workload moves after warm-up, instead of --time (k/M/G)" },
    warmup: { type: "string", description: "Seconds of warm-up before measuring (default 1)" },
    offset: { type: "string", description: "Start of the LUN range used (default 0)" },
    span: { type: "string", description: "Length of the LUN range used (default: to the end of the LUN)" },
    transport: {
      type: "string",
      description: `TCP transport: ${TRANSPORT_CHOICES.join(", ")} (default $ISCSI_TRANSPORT, else auto: native on Linux when its library loads)`,
    },
    "destroy-data": {
      type: "boolean",
      description: "Allow write workloads: they overwrite the LUN's data in the range",
      default: false,
    },
    compare: {
      type: "boolean",
      description:
        "Also run iscsi-perf and qemu-img bench (when installed) on the same LUN, in turns with ours, and print the side-by-side table",
      default: false,
    },
    rounds: { type: "string", description: "Rounds of --compare; each figure is the median of its rounds (default 3)" },
    ...jsonArg,
  },
  async run({ args }) {
    const names = list(args.rw ?? "read", "workload").map(workloadName);
    const blockSizes = list(args.bs ?? "1M", "block size").map((s) => parseSize(s, "block size"));
    const depths = list(args.qd ?? "16", "queue depth").map((s) => parseSize(s, "queue depth"));
    if (args.time && args.bytes) throw new IscsiError("INVALID_ARGUMENT", "give --time or --bytes, not both");
    const durationMs = args.bytes ? undefined : seconds(args.time ?? "10", "--time") * 1000;
    const bytes = args.bytes ? parseSize(args.bytes, "--bytes") : undefined;
    const warmupMs = seconds(args.warmup ?? "1", "--warmup") * 1000;
    const transport = (await resolveTransport(args.transport)).kind;
    const writes = names.some((n) => n.endsWith("write"));
    // A local tgtd's null LUN holds no data, so only a real LUN needs the explicit consent.
    if (writes && !args.local && !args["destroy-data"]) {
      throw new IscsiError(
        "INVALID_ARGUMENT",
        "write workloads overwrite the LUN's data: add --destroy-data to confirm",
      );
    }
    if (args.local && (args.url || args.portal || args.target))
      throw new IscsiError("INVALID_ARGUMENT", "--local starts its own target: do not name a LUN too");
    const rounds = args.rounds === undefined ? 3 : parseSize(args.rounds, "--rounds");
    if (rounds < 1) throw new IscsiError("INVALID_ARGUMENT", "--rounds must be at least 1");
    if (args.rounds !== undefined && !args.compare)
      throw new IscsiError("INVALID_ARGUMENT", "--rounds belongs to --compare");
    if (args.compare)
      checkCompareArgs(
        args,
        args.local ? { method: "None" } : authFrom(args, args.url ? parseIscsiUrl(args.url).user : undefined),
      );

    let local: LocalTgtd | undefined;
    let addr: LunAddress;
    if (args.local) {
      local = await startLocalTgtd({ sizeBytes: 2 ** 40, nullBacking: true });
      addr = parseIscsiUrl(`iscsi://${local.portal}/${local.iqn}/${local.lun}`);
    } else {
      addr = lunAddressFrom(args);
    }
    try {
      const lu = await openLun(addr, args, { queueDepth: Math.max(...depths), transport });
      const results: WorkloadResult[] = [];
      try {
        if (args.compare) {
          const profiles = names.flatMap((workload) =>
            blockSizes.flatMap((blockSize) => depths.map((queueDepth) => ({ workload, blockSize, queueDepth }))),
          );
          return await runCompare(lu, addr, {
            profiles,
            seconds: durationMs! / 1000,
            warmupSeconds: warmupMs / 1000,
            rounds,
            json: args.json === true,
          });
        }
        const cap = lu.capacity!;
        const offset = args.offset ? parseSize(args.offset, "--offset") : 0;
        const span = args.span ? parseSize(args.span, "--span") : Number(cap.bytes) - offset;
        for (const name of names) {
          for (const blockSize of blockSizes) {
            for (const queueDepth of depths) {
              const w: Workload = {
                name,
                blockSize,
                queueDepth,
                warmupMs,
                offset,
                span,
                ...(bytes ? { bytes } : { durationMs }),
              };
              const r = await runWorkload(lu, w);
              results.push(r);
              if (!args.json && process.stderr.isTTY) process.stderr.write(`${describe(r)}\n`);
            }
          }
        }
        const n = lu.session.negotiated;
        if (args.json) {
          printJson({
            target: {
              portal: `${addr.portal.host}:${addr.portal.port}`,
              iqn: addr.target,
              lun: addr.lun,
              local: local !== undefined,
              transport,
              blockSize: cap.blockSize,
              capacityBytes: cap.bytes,
              connections: lu.session.connections.views().length,
              negotiated: {
                maxRecvDataSegmentLength: n.maxRecvDataSegmentLength,
                maxXmitDataSegmentLength: n.maxXmitDataSegmentLength,
                firstBurstLength: n.firstBurstLength,
                maxBurstLength: n.maxBurstLength,
                immediateData: n.immediateData,
                initialR2T: n.initialR2T,
              },
            },
            results: results.map(round),
          });
        } else {
          printTable(
            ["workload", "bs", "qd", "seconds", "MB/s", "IOPS", "p50 µs", "p99 µs", "max µs", "CPU s/GiB", "peak RSS"],
            results.map((r) => [
              r.workload,
              formatBytes(r.blockSize),
              r.queueDepth,
              r.seconds.toFixed(2),
              r.mbPerSecond.toFixed(1),
              Math.round(r.iops),
              Math.round(r.latency.p50Us),
              Math.round(r.latency.p99Us),
              Math.round(r.latency.maxUs),
              r.cpu.secondsPerGiB.toFixed(3),
              formatBytes(r.memory.peakRssBytes),
            ]),
          );
        }
      } finally {
        await closeLun(lu);
      }
    } finally {
      await local?.stop();
    }
  },
});

function list(text: string, what: string): string[] {
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (items.length === 0) throw new IscsiError("INVALID_ARGUMENT", `no ${what} given`);
  return items;
}

function workloadName(s: string): WorkloadName {
  if (!(WORKLOADS as readonly string[]).includes(s))
    throw new IscsiError("INVALID_ARGUMENT", `unknown workload ${JSON.stringify(s)}: use ${WORKLOADS.join(", ")}`);
  return s as WorkloadName;
}

function seconds(text: string, what: string): number {
  const n = Number(text.replace(/s$/, ""));
  if (!Number.isFinite(n) || n < 0)
    throw new IscsiError("INVALID_ARGUMENT", `${what} ${JSON.stringify(text)} is not a number of seconds`);
  return n;
}

function describe(r: WorkloadResult): string {
  return `${r.workload} ${formatBytes(r.blockSize)} QD${r.queueDepth}: ${r.mbPerSecond.toFixed(1)} MB/s, ${Math.round(r.iops)} IOPS, p99 ${Math.round(r.latency.p99Us)} µs`;
}

/** JSON figures to sensible precision. */
function round(r: WorkloadResult) {
  const f = (n: number, d: number) => Number(n.toFixed(d));
  return {
    ...r,
    seconds: f(r.seconds, 3),
    mbPerSecond: f(r.mbPerSecond, 1),
    iops: f(r.iops, 0),
    latency: {
      count: r.latency.count,
      meanUs: f(r.latency.meanUs, 1),
      p50Us: f(r.latency.p50Us, 1),
      p99Us: f(r.latency.p99Us, 1),
      maxUs: f(r.latency.maxUs, 1),
    },
    cpu: {
      userSeconds: f(r.cpu.userSeconds, 3),
      systemSeconds: f(r.cpu.systemSeconds, 3),
      secondsPerGiB: f(r.cpu.secondsPerGiB, 3),
    },
  };
}
