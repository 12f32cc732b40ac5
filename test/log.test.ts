// The recent-log buffer the dashboard shows: bounded, ordered by seq, messages capped, secret-looking
// values masked both in the buffer and in what the stderr reporter gets.
import { expect, test } from "bun:test";
import { logFor, recentLog, redact, RECENT_LOG_ENTRIES, RECENT_LOG_MESSAGE_CHARS } from "../src/log.ts";

/** A child logger at info level that only records (the recorder is the first reporter): no noise on stderr. */
function quiet(tag: string) {
  const child = logFor(tag);
  child.level = 3;
  child.setReporters([child.options.reporters[0]!]);
  return child;
}

test("entries of child loggers are kept with their tag, level and a rising seq", () => {
  const before = recentLog().at(-1)?.seq ?? 0;
  const child = quiet("s9:c0");
  child.info("logged in");
  child.warn("connection lost");
  const mine = recentLog(before);
  expect(mine.map((e) => [e.tag, e.type, e.message])).toEqual([
    ["s9:c0", "info", "logged in"],
    ["s9:c0", "warn", "connection lost"],
  ]);
  expect(mine[1]!.seq).toBe(mine[0]!.seq + 1);
  expect(Number.isNaN(Date.parse(mine[0]!.time))).toBe(false);
});

test("the buffer keeps only the newest entries and caps each message", () => {
  const child = quiet("flood");
  for (let i = 0; i < RECENT_LOG_ENTRIES + 25; i++) child.info(`line ${i} ${"x".repeat(i % 7)}`);
  child.info("y".repeat(RECENT_LOG_MESSAGE_CHARS * 3));
  const all = recentLog();
  expect(all.length).toBe(RECENT_LOG_ENTRIES);
  expect(all.at(-1)!.message.length).toBe(RECENT_LOG_MESSAGE_CHARS + 1);
  expect(all.some((e) => e.message.startsWith("line 0 "))).toBe(false);
  expect(recentLog(0, 3).map((e) => e.seq)).toEqual(all.slice(-3).map((e) => e.seq));
});

test("CHAP values and password-like assignments are masked", () => {
  expect(redact("target sent CHAP_R=0xabcdef and CHAP_C=0x1234")).toBe(
    "target sent CHAP_R=[redacted] and CHAP_C=[redacted]",
  );
  expect(redact('password_in: "s3cret value" kept')).toBe("password_in: [redacted] kept");
  expect(redact("a CHAP secret must be at least 12 bytes")).toBe("a CHAP secret must be at least 12 bytes");
  const before = recentLog().at(-1)?.seq ?? 0;
  const child = quiet("auth");
  const printed: unknown[][] = [];
  child.addReporter({ log: (obj) => printed.push(obj.args) });
  child.warn("bad answer: CHAP_R=0xdeadbeef");
  expect(recentLog(before).map((e) => e.message)).toEqual(["bad answer: CHAP_R=[redacted]"]);
  expect(printed).toEqual([["bad answer: CHAP_R=[redacted]"]]);
});
