// Runs the three fuzzers (session over TCP, login in memory, framer) for a time budget and sums up what
// they saw; shared by test/fuzz/fuzz.test.ts (seconds) and scripts/fuzz-long.ts (minutes).
import { UnhandledWatch } from "../fault/outcome.ts";
import { framerEpisode } from "./framer-fuzz.ts";
import { loginEpisode } from "./login-fuzz.ts";
import { sessionEpisode, type Finding } from "./session-fuzz.ts";

/** "recovery" is the session lane with ERL0 recovery on (reinstatement and re-issue driven by hostile PDUs). */
export type LaneName = "session" | "recovery" | "login" | "framer";

export interface LaneSummary {
  episodes: number;
  ms: number;
  /** Outcomes by kind: error codes of commands/logins/framers, "ok", request results. */
  outcomes: Record<string, number>;
}

export interface Summary {
  seed: number;
  lanes: Record<LaneName, LaneSummary>;
  findings: Array<Finding & { lane: LaneName }>;
  unhandled: string[];
  rssMiB: { start: number; warm: number; max: number; end: number };
}

const add = (into: Record<string, number>, key: string, n = 1) => void (into[key] = (into[key] ?? 0) + n);
const rssMiB = () => Math.round(process.memoryUsage().rss / 2 ** 20);

/** One episode of one lane; `log` lines describe what the episode did (for replaying a finding). */
export async function runEpisode(
  lane: LaneName,
  seed: number,
  episode: number,
  outcomes: Record<string, number>,
): Promise<{ findings: Finding[]; log: string[] }> {
  if (lane === "session" || lane === "recovery") {
    const r = await sessionEpisode(seed, episode, { recovery: lane === "recovery" });
    add(outcomes, "commands", r.commands);
    add(outcomes, "command:ok", r.resolved);
    for (const [k, v] of Object.entries(r.rejected)) add(outcomes, `command:${k}`, v);
    for (const [k, v] of Object.entries(r.requests)) add(outcomes, k, v);
    return r;
  }
  if (lane === "login") {
    const r = await loginEpisode(seed, episode);
    add(outcomes, `login:${r.outcome}`);
    return r;
  }
  const r = framerEpisode(seed, episode);
  add(outcomes, "frames", r.frames);
  add(outcomes, `stream:${r.error || "ok"}`);
  return { findings: r.findings, log: [] };
}

/**
 * Run the lanes for `budgetMs` in total, sharing time by `weights` (lanes take turns, each turn as long as
 * its weight in ms), episodes numbered from 0 per lane. `progress` is called about every `everyMs`.
 */
export async function fuzz(opts: {
  seed: number;
  budgetMs: number;
  weights?: Partial<Record<LaneName, number>>;
  everyMs?: number;
  progress?: (s: Summary, elapsedMs: number) => void;
}): Promise<Summary> {
  const weights: Record<LaneName, number> = { session: 60, recovery: 0, login: 25, framer: 15, ...opts.weights };
  const watch = new UnhandledWatch();
  watch.start();
  const start = rssMiB();
  const summary: Summary = {
    seed: opts.seed,
    lanes: { session: empty(), recovery: empty(), login: empty(), framer: empty() },
    findings: [],
    unhandled: watch.messages,
    rssMiB: { start, warm: start, max: start, end: start },
  };
  const began = performance.now();
  let lastProgress = began;
  const lanes = (Object.keys(weights) as LaneName[]).filter((l) => weights[l] > 0);
  try {
    while (performance.now() - began < opts.budgetMs) {
      for (const lane of lanes) {
        const s = summary.lanes[lane];
        const turnEnd = performance.now() + weights[lane];
        do {
          const t0 = performance.now();
          const r = await runEpisode(lane, opts.seed, s.episodes, s.outcomes);
          s.ms += performance.now() - t0;
          for (const f of r.findings)
            summary.findings.push({ ...f, lane, what: r.log.length > 0 ? `${f.what} [${r.log.join(" | ")}]` : f.what });
          s.episodes++;
        } while (performance.now() < turnEnd);
      }
      const now = performance.now();
      const rss = rssMiB();
      summary.rssMiB.max = Math.max(summary.rssMiB.max, rss);
      // The first 10% of the run (at most a minute) warms up JIT and allocator; growth is measured after it.
      if (now - began < Math.min(60_000, opts.budgetMs / 10)) summary.rssMiB.warm = rss;
      if (opts.progress && now - lastProgress >= (opts.everyMs ?? 30_000)) {
        lastProgress = now;
        summary.unhandled = watch.messages;
        opts.progress(summary, now - began);
      }
    }
  } finally {
    watch.stop();
  }
  Bun.gc(true);
  summary.rssMiB.end = rssMiB();
  summary.unhandled = watch.messages;
  return summary;
}

function empty(): LaneSummary {
  return { episodes: 0, ms: 0, outcomes: {} };
}

/** How to replay: the seed for a whole run, or one episode of one lane. */
export function replayHint(seed: number, f?: { lane: LaneName; episode: number }): string {
  const one = f ? ` --only ${f.lane} --episode ${f.episode}` : "";
  return `FUZZ_SEED=${seed} bun test test/fuzz  |  bun scripts/fuzz-long.ts --seed ${seed}${one}`;
}
