// Logging: consola to stderr, tagged per session and connection ("s3:c0"). stdout stays for results.
import { createConsola, type ConsolaInstance } from "consola";

const levelFromEnv = (): number => {
  const v = process.env.ISCSI_LOG_LEVEL;
  if (v === undefined || v === "") return 2; // warn, error, log
  const n = Number(v);
  return Number.isInteger(n) ? n : 2;
};

export const log: ConsolaInstance = createConsola({
  level: levelFromEnv(),
  stdout: process.stderr,
  stderr: process.stderr,
});

/** A child logger for one object, e.g. `logFor("s1:c0")`. */
export function logFor(tag: string): ConsolaInstance {
  return log.withTag(tag);
}

/** Raise verbosity (CLI `-d/--debug`). 4 = debug, 5 = trace. */
export function setLogLevel(level: number): void {
  log.level = level;
}
