// Long fuzz run: the same three fuzzers as test/fuzz/fuzz.test.ts (session over TCP, login, framer) for minutes,
// with progress every 30 s and a summary; exit code 1 on any finding, unhandled rejection or memory growth.
//
//   bun scripts/fuzz-long.ts [--minutes 10] [--seed N] [--only session|recovery|login|framer] [--episode K] [--json]
//
// --episode replays one episode of one lane (with --only and --seed) and prints what it did. The "recovery"
// lane (session fuzzing with ERL0 recovery on) runs only when asked for with --only recovery.
import { parseArgs } from "node:util";
import { log } from "../src/log.ts";
import { fuzz, replayHint, runEpisode, type LaneName, type Summary } from "../test/fuzz/run.ts";
import { seedFrom } from "../test/fuzz/prng.ts";

const MAX_RSS_GROWTH_MIB = 200;

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    seed: { type: "string" },
    only: { type: "string" },
    episode: { type: "string" },
    json: { type: "boolean", default: false },
  },
});

const seed = seedFrom(values.seed);
const minutes = Number(values.minutes);
const only = values.only as LaneName | undefined;
if (!Number.isFinite(minutes) || minutes <= 0) throw new Error(`--minutes ${values.minutes} is not a positive number`);
if (only !== undefined && !["session", "recovery", "login", "framer"].includes(only))
  throw new Error(`--only ${only}: use session, recovery, login or framer`);
log.level = -999; // the engine's warnings about hostile PDUs are the point of the exercise, not news

if (values.episode !== undefined) {
  if (!only || values.seed === undefined) throw new Error("--episode needs --only and --seed");
  const outcomes: Record<string, number> = {};
  const r = await runEpisode(only, seed, Number(values.episode), outcomes);
  console.log(
    JSON.stringify(
      { seed, lane: only, episode: Number(values.episode), log: r.log, outcomes, findings: r.findings },
      null,
      2,
    ),
  );
  process.exit(r.findings.length > 0 ? 1 : 0);
}

const weights = only ? { session: 0, recovery: 0, login: 0, framer: 0, [only]: 100 } : undefined;
const rate = (n: number, ms: number) => (ms > 0 ? (n / (ms / 1000)).toFixed(1) : "0");

function line(s: Summary, elapsedMs: number): string {
  const lanes = (Object.keys(s.lanes) as LaneName[])
    .filter((l) => s.lanes[l].episodes > 0)
    .map((l) => `${l} ${s.lanes[l].episodes} (${rate(s.lanes[l].episodes, s.lanes[l].ms)}/s)`)
    .join(", ");
  return `[${(elapsedMs / 60_000).toFixed(1)} min] ${lanes}; findings ${s.findings.length}; unhandled ${s.unhandled.length}; rss ${s.rssMiB.max} MiB max`;
}

console.error(`fuzz-long: seed ${seed}, ${minutes} min${only ? `, only ${only}` : ""}`);
const started = performance.now();
const summary = await fuzz({
  seed,
  budgetMs: minutes * 60_000,
  ...(weights ? { weights } : {}),
  everyMs: 30_000,
  progress: (s, ms) => console.error(line(s, ms)),
});
const elapsed = performance.now() - started;
const growth = summary.rssMiB.end - summary.rssMiB.warm;
const ok = summary.findings.length === 0 && summary.unhandled.length === 0 && growth < MAX_RSS_GROWTH_MIB;

if (values.json) console.log(JSON.stringify({ ok, elapsedMs: Math.round(elapsed), ...summary }, null, 2));
else {
  console.log(line(summary, elapsed));
  for (const [lane, l] of Object.entries(summary.lanes)) {
    if (l.episodes === 0) continue;
    const top = Object.entries(l.outcomes)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    console.log(`  ${lane}: ${l.episodes} episodes, ${rate(l.episodes, l.ms)}/s; ${top}`);
  }
  console.log(
    `  rss MiB: start ${summary.rssMiB.start}, after warm-up ${summary.rssMiB.warm}, max ${summary.rssMiB.max}, end ${summary.rssMiB.end} (growth ${growth}, limit ${MAX_RSS_GROWTH_MIB})`,
  );
  for (const f of summary.findings.slice(0, 50)) console.log(`  FINDING ${f.lane} episode ${f.episode}: ${f.what}`);
  for (const u of summary.unhandled.slice(0, 20)) console.log(`  UNHANDLED ${u}`);
  console.log(ok ? "clean" : `NOT CLEAN; replay with: ${replayHint(seed, summary.findings[0])}`);
}
process.exit(ok ? 0 : 1);
