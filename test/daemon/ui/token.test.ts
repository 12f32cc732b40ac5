// The dashboard's credentials: the per-install token file (made once, 0600, replaced when others could read
// it or it is malformed) and the single-use login codes (once, for a limited time, a bounded number).
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureUiToken, LoginCodes, sameSecret, TOKEN_FILE } from "../../../src/daemon/ui/token.ts";
import { logFor } from "../../../src/log.ts";

const dir = mkdtempSync(join(tmpdir(), "iscsi-ui-token-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = logFor("test");
log.level = 0;

test("the token is made once: 64 hex digits in a 0600 file, the same on every later call", () => {
  const a = ensureUiToken(dir, log);
  expect(a).toMatch(/^[0-9a-f]{64}$/);
  expect(readFileSync(join(dir, TOKEN_FILE), "utf8")).toBe(`${a}\n`);
  expect(statSync(join(dir, TOKEN_FILE)).mode & 0o777).toBe(0o600);
  expect(ensureUiToken(dir, log)).toBe(a);
});

test("a token file others can read, or a malformed one, is replaced by a new token", () => {
  const path = join(dir, TOKEN_FILE);
  const old = ensureUiToken(dir, log);
  chmodSync(path, 0o644);
  const fresh = ensureUiToken(dir, log);
  expect(fresh).not.toBe(old);
  expect(statSync(path).mode & 0o777).toBe(0o600);
  writeFileSync(path, "not a token\n", { mode: 0o600 });
  expect(ensureUiToken(dir, log)).toMatch(/^[0-9a-f]{64}$/);
});

test("sameSecret compares whole strings only", () => {
  expect(sameSecret("abc", "abc")).toBe(true);
  expect(sameSecret("abd", "abc")).toBe(false);
  expect(sameSecret("ab", "abc")).toBe(false);
  expect(sameSecret(null, "abc")).toBe(false);
});

test("a login code works once, expires, and only the newest few are kept", async () => {
  const codes = new LoginCodes(50, 3);
  const a = codes.issue();
  expect(a).toMatch(/^[0-9a-f]{32}$/);
  expect(codes.redeem(a)).toBe(true);
  expect(codes.redeem(a)).toBe(false);
  const late = codes.issue();
  await Bun.sleep(80);
  expect(codes.redeem(late)).toBe(false);
  const four = [codes.issue(), codes.issue(), codes.issue(), codes.issue()];
  expect(four.map((c) => codes.redeem(c))).toEqual([false, true, true, true]);
  expect(codes.redeem("0".repeat(32))).toBe(false);
});
