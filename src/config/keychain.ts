// Secrets in the macOS System Keychain through Apple's `security` tool (docs/architecture.md, "The daemon"). The secret never goes on
// argv: it is hex-encoded and fed to `security -i` on stdin; reads use `find-generic-password -w`.
// NOTE: written from the tool's documentation; not yet run on a Mac (README status table).
import { IscsiError } from "../contract/errors.ts";
import type { SecretStore } from "./secrets.ts";

const SERVICE = "dev.iscsi.chap";
const KEYCHAIN = "/Library/Keychains/System.keychain";

const hex = (s: string) => Buffer.from(s, "utf8").toString("hex");
const fromHex = (s: string) => Buffer.from(s.trim(), "hex").toString("utf8");
/** Keys name targets and portals; `security -i` splits on spaces and quotes, so they go in hex too. */
const account = (key: string) => `k${hex(key)}`;

async function security(argv: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn(["/usr/bin/security", ...argv], {
    stdin: stdin === undefined ? "ignore" : "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  if (stdin !== undefined && p.stdin) {
    p.stdin.write(stdin);
    await p.stdin.end();
  }
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, stdout, stderr };
}

export class KeychainSecretStore implements SecretStore {
  async get(key: string): Promise<string | undefined> {
    const r = await security(["find-generic-password", "-s", SERVICE, "-a", account(key), "-w", KEYCHAIN]);
    if (r.code === 44) return undefined; // errSecItemNotFound
    if (r.code !== 0) throw new IscsiError("ACCESS", `Keychain lookup failed (security exit ${r.code})`);
    return fromHex(r.stdout);
  }

  async set(key: string, value: string): Promise<void> {
    // -U updates an existing item; the value is hex so no quoting is needed inside `security -i`.
    const r = await security(
      ["-i"],
      `add-generic-password -U -s ${SERVICE} -a ${account(key)} -w ${hex(value)} ${KEYCHAIN}\n`,
    );
    if (r.code !== 0 || /error/i.test(r.stderr))
      throw new IscsiError("ACCESS", `storing a secret in the Keychain failed (security exit ${r.code})`);
  }

  async delete(key: string): Promise<void> {
    const r = await security(["delete-generic-password", "-s", SERVICE, "-a", account(key), KEYCHAIN]);
    if (r.code !== 0 && r.code !== 44)
      throw new IscsiError("ACCESS", `removing a secret from the Keychain failed (security exit ${r.code})`);
  }
}
