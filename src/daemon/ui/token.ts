// The dashboard's credentials: one per-install token (32 random bytes, hex, in <state dir>/ui-token, 0600,
// never logged), compared in constant time; and single-use login codes that `iscsi ui --open` hands to a
// browser on argv, where the token itself must never appear (other users can read argv in `ps`).
import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { timingSafeEqual } from "node:crypto";
import type { ConsolaInstance } from "consola";
import { writeFileAtomic } from "../../config/atomic.ts";

export const TOKEN_FILE = "ui-token";
const TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[0-9a-f]{64}$/;

const randomHex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");

/** The stored token; a new one when the file is missing, malformed, or readable by others (it may have leaked). */
export function ensureUiToken(stateDir: string, log: ConsolaInstance): string {
  const path = join(stateDir, TOKEN_FILE);
  try {
    const st = lstatSync(path);
    const text = readFileSync(path, "utf8").trim();
    if (st.isFile() && (st.mode & 0o077) === 0 && TOKEN_SHAPE.test(text)) return text;
    log.warn(
      `${path} is ${st.isFile() && (st.mode & 0o077) !== 0 ? "readable by others" : "not a valid token file"}; making a new dashboard token`,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const token = randomHex(TOKEN_BYTES);
  writeFileAtomic(path, token + "\n", 0o600);
  return token;
}

/** Constant-time comparison, so the time taken says nothing about how much of a guess was right. */
export function sameSecret(given: string | null | undefined, expected: string): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Single-use codes, valid for a minute; at most a few outstanding, oldest dropped first. */
export class LoginCodes {
  private readonly codes = new Map<string, number>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly max = 8,
  ) {}

  issue(): string {
    const code = randomHex(16);
    this.codes.set(code, Date.now() + this.ttlMs);
    while (this.codes.size > this.max) this.codes.delete(this.codes.keys().next().value!);
    return code;
  }

  redeem(code: string): boolean {
    for (const [known, expires] of this.codes) {
      if (!sameSecret(code, known)) continue;
      this.codes.delete(known);
      return expires > Date.now();
    }
    return false;
  }
}
