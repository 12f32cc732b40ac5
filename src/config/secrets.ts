// The secret store (docs/architecture.md, "The daemon"): CHAP secrets kept apart from the node database, never on argv, in logs or
// in any listing. Linux: one root-only 0600 JSON file in the state dir; macOS: the Keychain (keychain.ts).
import { lstatSync, readFileSync } from "node:fs";
import * as v from "valibot";
import { IscsiError } from "../contract/errors.ts";
import { writeFileAtomic } from "./atomic.ts";
import { parseRecord } from "./record-files.ts";

export interface SecretStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

/** RFC 7143 §9.2.1: CHAP secrets under 12 bytes are refused (the engine would refuse them at login too). */
export const MIN_SECRET_BYTES = 12;
const MAX_SECRET_BYTES = 255;

/** Why `secret` cannot be a CHAP secret, or undefined. Never quotes the secret. */
export function secretProblem(secret: string): string | undefined {
  const n = new TextEncoder().encode(secret).length;
  if (n < MIN_SECRET_BYTES)
    return `a CHAP secret must be at least ${MIN_SECRET_BYTES} bytes (RFC 7143 §9.2.1); this one has ${n}`;
  if (n > MAX_SECRET_BYTES) return `a CHAP secret must be at most ${MAX_SECRET_BYTES} bytes`;
  if (/[\x00-\x1f\x7f]/.test(secret))
    return "a CHAP secret must not contain control characters (a trailing newline is stripped)";
  return undefined;
}

/** Parse and schema errors can quote the text around the fault, which may be a secret: keep only the kind. */
const redactedProblem = (problem: string) =>
  problem.startsWith("not valid JSON")
    ? "not valid JSON"
    : 'not of the form {"version": 1, "secrets": {KEY: "SECRET"}}';

const fileSchema = v.object({ version: v.literal(1), secrets: v.record(v.string(), v.string()) });

/** Secrets in one JSON file, mode 0600, replaced atomically; a file others can read is refused. */
export class FileSecretStore implements SecretStore {
  constructor(readonly path: string) {}

  private read(): Record<string, string> {
    let text: string;
    try {
      const st = lstatSync(this.path);
      if (!st.isFile()) throw new IscsiError("ACCESS", `secrets file ${this.path} is not a regular file`);
      if ((st.mode & 0o077) !== 0) {
        throw new IscsiError(
          "ACCESS",
          `secrets file ${this.path} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
        );
      }
      text = readFileSync(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw err;
    }
    const r = parseRecord(fileSchema, text);
    if ("problem" in r)
      throw new IscsiError("NODE_DB", `secrets file ${this.path} is damaged: ${redactedProblem(r.problem)}`);
    return r.record.secrets;
  }

  /**
   * Why the file cannot be used as it is (missing is fine), without quoting any of its content. `damaged`: the
   * content is wrong (set it aside), as opposed to a file we may not read (refused, left alone).
   */
  problem(): { damaged: boolean; message: string } | undefined {
    try {
      this.read();
      return undefined;
    } catch (err) {
      return { damaged: /is damaged/.test((err as Error).message), message: (err as Error).message };
    }
  }

  private write(secrets: Record<string, string>): void {
    writeFileAtomic(this.path, JSON.stringify({ version: 1, secrets }, null, 2) + "\n", 0o600);
  }

  async get(key: string): Promise<string | undefined> {
    const all = this.read();
    return Object.hasOwn(all, key) ? all[key] : undefined;
  }

  async set(key: string, value: string): Promise<void> {
    this.write({ ...this.read(), [key]: value });
  }

  async delete(key: string): Promise<void> {
    const all = this.read();
    if (!Object.hasOwn(all, key)) return;
    delete all[key];
    this.write(all);
  }
}
