// Independent initiators to cross-check our data and logins: libiscsi's iscsi-ls and iscsi-inq, and
// qemu-img/qemu-io over qemu's libiscsi block driver. Secrets go through the environment or a 0600 file.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import type { ChapCredentials } from "./daemon.ts";
import { expectSuccess, runTool } from "./processes.ts";

export { freePort } from "./net.ts";

/** Initiator name the cross-check tools log in with. */
export const CROSSCHECK_INITIATOR = "iqn.2026-11.dev.iscsi:crosscheck";

export interface InitiatorOptions {
  /** One-way CHAP: passed to libiscsi as LIBISCSI_CHAP_USERNAME / LIBISCSI_CHAP_PASSWORD (not argv). */
  chap?: ChapCredentials;
  /** Target credentials to verify (mutual CHAP): LIBISCSI_CHAP_TARGET_USERNAME / _PASSWORD. libiscsi tools only. */
  mutual?: ChapCredentials;
  /** Kill the tool after this long. Default 30 s. */
  timeoutMs?: number;
}

/**
 * iscsi://[user%password@]host:port/iqn/lun for libiscsi and qemu. Credentials in the URL end up on the
 * tools' argv (visible in ps): acceptable only for throwaway test secrets; prefer InitiatorOptions.chap.
 */
export function libiscsiUrl(o: { portal: string; iqn: string; lun: number; user?: string; password?: string }): string {
  for (const part of [o.user, o.password]) {
    // libiscsi splits user%password at the first '%' and does no percent-decoding.
    if (part !== undefined && /[@/%]/.test(part))
      throw new Error(`libiscsiUrl: '@', '/' and '%' cannot appear in ${JSON.stringify(part)}`);
  }
  const auth = o.user ? `${o.user}${o.password !== undefined ? `%${o.password}` : ""}@` : "";
  return `iscsi://${auth}${o.portal}/${o.iqn}/${o.lun}`;
}

interface ParsedUrl {
  portal: string;
  iqn: string;
  lun: number;
  chap?: ChapCredentials;
}

function parseUrl(url: string): ParsedUrl {
  const m = /^iscsi:\/\/(?:([^%@/]+)(?:%([^@/]*))?@)?([^/@]+)\/([^/]+)\/(\d+)$/.exec(url);
  if (!m) throw new Error(`not a libiscsi URL iscsi://[user%password@]host:port/iqn/lun: ${url}`);
  const [, user, password, portal, iqn, lun] = m;
  return {
    portal: portal!,
    iqn: iqn!,
    lun: Number(lun),
    ...(user ? { chap: { username: user, secret: password ?? "" } } : {}),
  };
}

function chapEnv(options: InitiatorOptions): Record<string, string> {
  const env: Record<string, string> = {};
  if (options.chap)
    Object.assign(env, { LIBISCSI_CHAP_USERNAME: options.chap.username, LIBISCSI_CHAP_PASSWORD: options.chap.secret });
  if (options.mutual) {
    Object.assign(env, {
      LIBISCSI_CHAP_TARGET_USERNAME: options.mutual.username,
      LIBISCSI_CHAP_TARGET_PASSWORD: options.mutual.secret,
    });
  }
  return env;
}

export interface IscsiLsTarget {
  iqn: string;
  /** "host:port" as the target's SendTargets answer gave it. */
  portal: string;
  tpgt: number;
  /** Filled with showLuns only. */
  luns: Array<{ lun: number; type: string; size?: string }>;
}

/** SendTargets through libiscsi's iscsi-ls (with showLuns, it also logs in to each target to list LUNs). */
export async function iscsiLs(
  portal: string,
  options: InitiatorOptions & { showLuns?: boolean } = {},
): Promise<IscsiLsTarget[]> {
  // stdbuf: iscsi-ls prints with stdio buffering, which a kill would lose.
  const argv = [
    "stdbuf",
    "-oL",
    "iscsi-ls",
    "-d",
    "-i",
    CROSSCHECK_INITIATOR,
    ...(options.showLuns ? ["-s"] : []),
    `iscsi://${portal}`,
  ];
  const result = await runTool(argv, {
    env: chapEnv(options),
    timeoutMs: options.timeoutMs,
    // QUIRK(istgt): after its last reply libiscsi's discovery logout trips over istgt's ExpCmdSN
    // ("cmdsn < expcmdsn"), and iscsi-ls reconnects forever; everything is printed by then.
    stopWhen: (_out, err) => err.includes("reconnect try"),
  });
  if (!(result.killed && !result.timedOut)) expectSuccess(argv, result);
  const targets: IscsiLsTarget[] = [];
  for (const line of result.stdout.split("\n")) {
    const target = /^Target:(\S+) Portal:(\S+),(\d+)$/.exec(line.trim());
    if (target) targets.push({ iqn: target[1]!, portal: target[2]!, tpgt: Number(target[3]), luns: [] });
    const lun = /^Lun:(\d+)\s+Type:(\S+)(?: \(Size:(\S+)\))?$/.exec(line.trim());
    if (lun) targets.at(-1)?.luns.push({ lun: Number(lun[1]), type: lun[2]!, ...(lun[3] ? { size: lun[3] } : {}) });
  }
  return targets;
}

/** Standard INQUIRY through libiscsi's iscsi-inq: "Key:Value" lines as a record (repeated keys joined by ", "). */
export async function iscsiInq(url: string, options: InitiatorOptions = {}): Promise<Record<string, string>> {
  const argv = ["iscsi-inq", "-i", CROSSCHECK_INITIATOR, url];
  const result = expectSuccess(argv, await runTool(argv, { env: chapEnv(options), timeoutMs: options.timeoutMs }));
  const fields: Record<string, string> = {};
  for (const line of result.stdout.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    fields[key] = fields[key] === undefined ? value : `${fields[key]}, ${value}`;
  }
  return fields;
}

/** qemu --image-opts for a byte window [offset, offset+length) of a LUN, and the --object holding the secret. */
function qemuWindow(
  url: string,
  offset: number,
  length: number,
  dir: string,
  options: InitiatorOptions,
): { object: string[]; image: string } {
  if (options.mutual) throw new Error("qemu's iscsi driver cannot do mutual CHAP; use iscsiInq to check it");
  const { portal, iqn, lun, chap: urlChap } = parseUrl(url);
  const chap = options.chap ?? urlChap;
  const opts = [
    `driver=raw,offset=${offset},size=${length}`,
    `file.driver=iscsi,file.transport=tcp,file.portal=${portal},file.target=${iqn},file.lun=${lun}`,
    `file.initiator-name=${CROSSCHECK_INITIATOR}`,
  ];
  if (!chap) return { object: [], image: opts.join(",") };
  // qemu reads the CHAP secret from a file object, which keeps it off argv.
  writeFileSync(`${dir}/chap-secret`, chap.secret, { mode: 0o600 });
  opts.push(`file.user=${chap.username},file.password-secret=chap0`);
  return { object: ["--object", `secret,id=chap0,file=${dir}/chap-secret`], image: opts.join(",") };
}

async function inTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(`${tmpdir()}/iscsi-harness-qemu-`);
  try {
    return await work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads `length` bytes at any byte `offset` with `qemu-img convert` (raw driver window over the iscsi driver). */
export async function qemuImgRead(
  url: string,
  offset: number,
  length: number,
  options: InitiatorOptions = {},
): Promise<Uint8Array> {
  return inTempDir(async (dir) => {
    const { object, image } = qemuWindow(url, offset, length, dir, options);
    const output = `${dir}/out.bin`;
    const argv = ["qemu-img", "convert", ...object, "--image-opts", image, "-O", "raw", output];
    expectSuccess(argv, await runTool(argv, { timeoutMs: options.timeoutMs ?? 60_000 }));
    // qemu-img writes zeros as holes but always sizes the output file to the window.
    if (statSync(output).size !== length)
      throw new Error(`qemu-img convert produced ${statSync(output).size} bytes, expected ${length}`);
    return new Uint8Array(readFileSync(output));
  });
}

/** Writes `data` at any byte `offset` with `qemu-io -c "write -s FILE"` (exits non-zero when the write fails). */
export async function qemuImgWrite(
  url: string,
  offset: number,
  data: Uint8Array,
  options: InitiatorOptions = {},
): Promise<void> {
  await inTempDir(async (dir) => {
    const { object, image } = qemuWindow(url, offset, data.length, dir, options);
    const input = `${dir}/in.bin`;
    writeFileSync(input, data);
    const argv = ["qemu-io", ...object, "--image-opts", image, "-c", `write -q -s ${input} 0 ${data.length}`];
    expectSuccess(argv, await runTool(argv, { timeoutMs: options.timeoutMs ?? 60_000 }));
  });
}
