// The floor under every initiator here: builds bench/tcp-floor.c and runs it both ways (a byte stream read
// into one buffer, as Data-In is read; 8 KiB PDUs read a header and a segment at a time, as tgtd reads
// Data-Out), with both ends on one CPU and on two, and prints what bare loopback TCP moves and costs.
//
//   bun bench/tcp-floor.ts [--time 3] [--rounds 3]
import { parseArgs } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "../src/bench/compare-table.ts";

const { values: opts } = parseArgs({
  options: { time: { type: "string", default: "3" }, rounds: { type: "string", default: "3" } },
});
const dir = mkdtempSync(join(tmpdir(), "tcp-floor-"));
try {
  const exe = join(dir, "tcp-floor");
  const cc = Bun.spawnSync(
    ["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", exe, join(import.meta.dir, "tcp-floor.c")],
    { stderr: "pipe" },
  );
  if (cc.exitCode !== 0) throw new Error(`cc failed: ${cc.stderr.toString()}`);
  interface Floor {
    bytesPerSecond: number;
    receiverCpuPerGiB: number;
    senderCpuPerGiB: number;
  }
  const lines = [
    "| stream | CPUs (receiver, sender) | MB/s | receiver CPU s/GiB | sender CPU s/GiB |",
    "|---|---|---:|---:|---:|",
  ];
  for (const mode of ["stream", "pdus"] as const) {
    for (const [r, s] of [
      [0, 0],
      [0, 1],
    ] as const) {
      const runs: Floor[] = [];
      for (let i = 0; i < Number(opts.rounds); i++) {
        const p = Bun.spawnSync([exe, mode, opts.time!, String(r), String(s)], { stderr: "inherit" });
        if (p.exitCode !== 0) throw new Error(`tcp-floor ${mode} exited with ${p.exitCode}`);
        runs.push(JSON.parse(p.stdout.toString()) as Floor);
      }
      const med = (f: (x: Floor) => number) => median(runs.map(f));
      const what =
        mode === "stream"
          ? "1 MiB sends → recv into one buffer"
          : "48 B + 8 KiB PDUs, 32 per sendmsg → one read per header and per segment";
      lines.push(
        `| ${what} | ${r === s ? `both on CPU ${r}` : `${r}, ${s}`} | ${(med((x) => x.bytesPerSecond) / 1e6).toFixed(0)} | ` +
          `${med((x) => x.receiverCpuPerGiB).toFixed(3)} | ${med((x) => x.senderCpuPerGiB).toFixed(3)} |`,
      );
    }
  }
  process.stdout.write(
    `Command: \`${["bun bench/tcp-floor.ts", ...process.argv.slice(2)].join(" ")}\` (medians of ${opts.rounds})\n\n${lines.join("\n")}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
