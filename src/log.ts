// Logging: consola to stderr, tagged per session and connection ("s3:c0"). stdout stays for results.
// The most recent entries are also kept in a bounded buffer, which the daemon's dashboard shows.
import { createConsola, type ConsolaInstance, type LogObject } from "consola";
import type { LogEntry } from "./contract/views.ts";

const levelFromEnv = (): number => {
  const v = process.env.ISCSI_LOG_LEVEL;
  if (v === undefined || v === "") return 2; // warn, error, log
  const n = Number(v);
  return Number.isInteger(n) ? n : 2;
};

/** Entries kept, and the longest message kept of each (a runaway message must not fill memory). */
export const RECENT_LOG_ENTRIES = 500;
export const RECENT_LOG_MESSAGE_CHARS = 2000;

const recent: LogEntry[] = [];
let nextSeq = 1;

/**
 * Defence in depth: secrets are never handed to the logger, but a peer's text echoed in an error could carry
 * CHAP values; these are masked before they reach the buffer or stderr.
 */
const SECRETISH = /\b(CHAP_[RC]|password(?:_in)?|secret)(\s*[=:]\s*)("[^"]*"|[^\s,;]+)/gi;

export function redact(text: string): string {
  return text.replace(SECRETISH, (_m, key: string, sep: string) => `${key}${sep}[redacted]`);
}

const describe = (a: unknown): string =>
  a instanceof Error ? a.message : typeof a === "string" ? a : Bun.inspect(a, { depth: 2 });

/** Runs before the stderr reporter: masks the message in place, then keeps a copy. */
const recorder = {
  log(obj: LogObject): void {
    obj.args = obj.args.map((a) => (typeof a === "string" ? redact(a) : a));
    const message = redact(obj.args.map(describe).join(" "));
    recent.push({
      seq: nextSeq++,
      time: obj.date.toISOString(),
      level: obj.level,
      type: obj.type,
      tag: obj.tag,
      message: message.length > RECENT_LOG_MESSAGE_CHARS ? `${message.slice(0, RECENT_LOG_MESSAGE_CHARS)}…` : message,
    });
    if (recent.length > RECENT_LOG_ENTRIES) recent.splice(0, recent.length - RECENT_LOG_ENTRIES);
  },
};

export const log: ConsolaInstance = createConsola({
  level: levelFromEnv(),
  stdout: process.stderr,
  stderr: process.stderr,
});
// Child loggers copy the reporter list when created, so the recorder goes in before any `withTag`.
log.setReporters([recorder, ...log.options.reporters]);

/** A child logger for one object, e.g. `logFor("s1:c0")`. */
export function logFor(tag: string): ConsolaInstance {
  return log.withTag(tag);
}

/** Raise verbosity (CLI `-d/--debug`). 4 = debug, 5 = trace. */
export function setLogLevel(level: number): void {
  log.level = level;
}

/** Kept entries with `seq` above `after`, oldest first, at most `limit` (the newest ones). */
export function recentLog(after = 0, limit = RECENT_LOG_ENTRIES): LogEntry[] {
  const newer = recent.filter((e) => e.seq > after);
  return newer.slice(Math.max(0, newer.length - limit));
}
