// Argument fragments and helpers shared by the subcommands: naming a LUN (flags or libiscsi's URL form),
// CHAP secrets from a file or the environment (never argv), sizes, output tables, JSON and progress.
import { readFileSync } from "node:fs";
import { IscsiError } from "../contract/errors.ts";
import { standaloneInitiatorName } from "../config/initiator-name.ts";
import { resolvePaths } from "../config/paths.ts";
import { fileError } from "./_output.ts";
import type { Portal } from "../transport/portal.ts";
import type { LoginParams } from "../login/login.ts";
import type { Digest, OperationalProposal } from "../login/keys.ts";

export const jsonArg = {
  json: { type: "boolean", description: "Print JSON instead of a table", default: false },
} as const;

export const initiatorArg = {
  "initiator-name": {
    type: "string",
    description:
      "Our iSCSI name (default: $ISCSI_INITIATOR_NAME, else the daemon's, from <state dir>/initiatorname.iscsi)",
  },
} as const;

export const authArgs = {
  "chap-user": {
    type: "string",
    description: "CHAP user name; the secret comes from --chap-secret-file or $ISCSI_CHAP_SECRET",
  },
  "chap-secret-file": { type: "string", description: "File holding the CHAP secret (first line)" },
  "mutual-user": {
    type: "string",
    description:
      "User name the target must answer with (mutual CHAP); secret from --mutual-secret-file or $ISCSI_MUTUAL_SECRET",
  },
  "mutual-secret-file": { type: "string", description: "File holding the target's secret for mutual CHAP" },
  "chap-algorithms": { type: "string", description: "CHAP_A preference, e.g. SHA3-256,SHA-256,SHA-1,MD5 (default)" },
} as const;

export const digestArgs = {
  "header-digest": {
    type: "string",
    description: "HeaderDigest offer in preference order: None,CRC32C (default), CRC32C,None, None or CRC32C",
  },
  "data-digest": { type: "string", description: "DataDigest offer, as --header-digest (default None,CRC32C)" },
} as const;

export const loginTimeoutArg = {
  "login-timeout": {
    type: "string",
    description: "Seconds a login may take before it fails (default 15, as open-iscsi's login_timeout)",
  },
} as const;

/** --login-timeout in milliseconds, or nothing for the default. */
export function loginTimeoutFrom(args: StrArgs): { loginTimeoutMs?: number } {
  const v = str(args, "login-timeout");
  if (v === undefined) return {};
  if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0 || Number(v) > 3600)
    throw new IscsiError(
      "INVALID_ARGUMENT",
      `invalid --login-timeout ${JSON.stringify(v)}: seconds, more than 0 and at most 3600`,
    );
  return { loginTimeoutMs: Math.round(Number(v) * 1000) };
}

export const lunArgs = {
  url: { type: "positional", required: false, description: "iscsi://[user@]host[:port]/IQN/LUN" },
  portal: { type: "string", alias: "p", description: "Target portal HOST[:PORT]" },
  target: { type: "string", alias: "T", description: "Target IQN" },
  lun: { type: "string", alias: "l", description: "LUN number (default: the target's only disk LUN)" },
  connections: {
    type: "string",
    description: "TCP connections in the session, 1..65535 (MC/S; the target's MaxConnections caps it; default 1)",
  },
  "command-timeout": {
    type: "string",
    description:
      "Seconds a command may wait for its status, counted from submission, also while the target's command window is closed (default 30)",
  },
  ...authArgs,
  ...digestArgs,
  ...loginTimeoutArg,
  ...initiatorArg,
} as const;

/** HOST, HOST:PORT, [IPv6]:PORT or a bare IPv6 address. */
export function parsePortal(text: string, defaultPort = 3260): Portal {
  const bad = () =>
    new IscsiError("INVALID_ARGUMENT", `invalid portal ${JSON.stringify(text)}: expected HOST[:PORT] or [IPv6]:PORT`);
  let host = text.trim();
  let port = defaultPort;
  const comma = host.indexOf(",");
  if (comma >= 0) host = host.slice(0, comma); // iscsiadm accepts HOST:PORT,TPGT
  const bracket = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(host);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if ((host.match(/:/g) ?? []).length === 1) {
    const [h, p] = host.split(":");
    if (!/^\d+$/.test(p!)) throw bad();
    host = h!;
    port = Number(p);
  }
  if (host === "" || /[\s/]/.test(host)) throw bad();
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad();
  return { host, port };
}

export interface LunAddress {
  portal: Portal;
  target: string;
  lun: number;
  /** False when the URL or flags named no LUN: `lun` is then 0, and openLun picks the only disk LUN instead. */
  lunGiven: boolean;
  user?: string;
}

/** libiscsi's URL form: iscsi://[user@]host[:port]/IQN/LUN. A password in the URL is refused (it would be on argv). */
export function parseIscsiUrl(url: string): LunAddress {
  const m = /^iscsi:\/\/(?:([^@/]*)@)?(\[[^\]]+\](?::\d+)?|[^/]+)\/([^/]+)(?:\/(\d+))?\/?$/.exec(url);
  if (!m)
    throw new IscsiError(
      "INVALID_ARGUMENT",
      `invalid iSCSI URL ${JSON.stringify(url)}: expected iscsi://[user@]host[:port]/IQN/LUN`,
    );
  const userinfo = m[1];
  if (userinfo !== undefined && (userinfo.includes("%") || userinfo.includes(":"))) {
    throw new IscsiError(
      "INVALID_ARGUMENT",
      "a CHAP secret in the URL would be visible in `ps`; put it in $ISCSI_CHAP_SECRET or a file named by --chap-secret-file",
    );
  }
  return {
    portal: parsePortal(m[2]!),
    target: decodeURIComponent(m[3]!),
    lun: m[4] === undefined ? 0 : parseLunNumber(m[4]),
    lunGiven: m[4] !== undefined,
    ...(userinfo ? { user: decodeURIComponent(userinfo) } : {}),
  };
}

export function parseLunNumber(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 16383)
    throw new IscsiError("INVALID_ARGUMENT", `invalid LUN ${JSON.stringify(text)}: expected 0..16383`);
  return Number(text);
}

type StrArgs = Record<string, unknown>;
const str = (args: StrArgs, key: string): string | undefined => {
  const v = args[key];
  return typeof v === "string" && v !== "" ? v : undefined;
};

/** The LUN named by a URL positional or by --portal/--target/--lun. */
export function lunAddressFrom(args: StrArgs): LunAddress {
  const url = str(args, "url");
  if (url) return parseIscsiUrl(url);
  const portal = str(args, "portal");
  const target = str(args, "target");
  if (!portal || !target)
    throw new IscsiError(
      "INVALID_ARGUMENT",
      "name the LUN with iscsi://host[:port]/IQN/LUN or with --portal HOST[:PORT] --target IQN [--lun N]",
    );
  const lun = str(args, "lun");
  return {
    portal: parsePortal(portal),
    target,
    lun: lun === undefined ? 0 : parseLunNumber(lun),
    lunGiven: lun !== undefined,
  };
}

const ALGORITHMS: Record<string, number> = { MD5: 5, "SHA-1": 6, SHA1: 6, "SHA-256": 7, SHA256: 7, "SHA3-256": 8 };

function readSecret(file: string | undefined, env: string, what: string): Uint8Array | undefined {
  let text: string | undefined;
  if (file) {
    try {
      text = readFileSync(file, "utf8").split(/\r?\n/)[0];
    } catch (err) {
      throw fileError(file, `read the ${what} from`, err);
    }
  } else {
    text = process.env[env];
  }
  if (text === undefined || text === "") return undefined;
  return new TextEncoder().encode(text);
}

/** CHAP settings from flags, files and the environment. Returns AuthMethod None when no CHAP user is given. */
export function authFrom(args: StrArgs, userFromUrl?: string): LoginParams["auth"] {
  const username = str(args, "chap-user") ?? userFromUrl ?? process.env.ISCSI_CHAP_USER;
  const secret = readSecret(str(args, "chap-secret-file"), "ISCSI_CHAP_SECRET", "CHAP secret");
  if (!username) {
    if (str(args, "mutual-user"))
      throw new IscsiError("INVALID_ARGUMENT", "--mutual-user needs one-way CHAP too (--chap-user)");
    return { method: "None" };
  }
  if (!secret)
    throw new IscsiError(
      "INVALID_ARGUMENT",
      `CHAP user ${username} given but no secret: set $ISCSI_CHAP_SECRET or --chap-secret-file`,
    );
  const algs = str(args, "chap-algorithms");
  const algorithms = algs?.split(",").map((a) => {
    const n = ALGORITHMS[a.trim().toUpperCase()];
    if (n === undefined)
      throw new IscsiError(
        "INVALID_ARGUMENT",
        `unknown CHAP algorithm ${JSON.stringify(a)}: use MD5, SHA-1, SHA-256 or SHA3-256`,
      );
    return n;
  });
  const mutualUser = str(args, "mutual-user") ?? process.env.ISCSI_MUTUAL_USER;
  let mutual: { username: string; secret: Uint8Array } | undefined;
  if (mutualUser) {
    const ms = readSecret(str(args, "mutual-secret-file"), "ISCSI_MUTUAL_SECRET", "mutual CHAP secret");
    if (!ms)
      throw new IscsiError(
        "INVALID_ARGUMENT",
        `mutual CHAP user ${mutualUser} given but no secret: set $ISCSI_MUTUAL_SECRET or --mutual-secret-file`,
      );
    mutual = { username: mutualUser, secret: ms };
  }
  return { method: "CHAP", username, secret, ...(algorithms ? { algorithms } : {}), ...(mutual ? { mutual } : {}) };
}

const DIGEST_OFFERS = ["None,CRC32C", "CRC32C,None", "None", "CRC32C"];

/** The digest offers of --header-digest / --data-digest (RFC 7143 §13.1), or nothing for the defaults. */
export function digestsFrom(args: StrArgs): Partial<Pick<OperationalProposal, "headerDigest" | "dataDigest">> {
  const out: Partial<Pick<OperationalProposal, "headerDigest" | "dataDigest">> = {};
  for (const [flag, field] of [
    ["header-digest", "headerDigest"],
    ["data-digest", "dataDigest"],
  ] as const) {
    const v = str(args, flag);
    if (v === undefined) continue;
    const canonical = DIGEST_OFFERS.find((d) => d.toLowerCase() === v.replace(/\s/g, "").toLowerCase());
    if (!canonical)
      throw new IscsiError(
        "INVALID_ARGUMENT",
        `invalid --${flag} ${JSON.stringify(v)}: use ${DIGEST_OFFERS.join(", ")}`,
      );
    out[field] = canonical.split(",") as Digest[];
  }
  return out;
}

/** The login of a Normal session to `target` from the command's flags (name, CHAP, digests). */
export function normalLogin(args: StrArgs, target: string, userFromUrl?: string) {
  return {
    initiatorName: initiatorNameFrom(args),
    targetName: target,
    sessionType: "Normal" as const,
    auth: authFrom(args, userFromUrl),
    proposal: digestsFrom(args),
  };
}

/**
 * Our initiator name: --initiator-name, $ISCSI_INITIATOR_NAME, else the daemon's (stored in the state dir,
 * generated and stored on first use) so standalone commands and the daemon look the same to a target's ACL.
 */
export function initiatorNameFrom(args: StrArgs): string {
  const { name, notStored } = standaloneInitiatorName(
    str(args, "initiator-name"),
    resolvePaths({ stateDir: args["state-dir"] }).stateDir,
  );
  if (notStored)
    process.stderr.write(
      `iscsi: using initiator name ${name} for this run only (${notStored}); \`sudo iscsi initiator-name\` stores one\n`,
    );
  return name;
}

/** 4096, 4k, 64K, 1M, 1MiB, 2G → bytes. */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+)\s*([kKmMgGtT]?)(i?[bB])?$/.exec(text.trim());
  if (!m)
    throw new IscsiError(
      "INVALID_ARGUMENT",
      `invalid ${what} ${JSON.stringify(text)}: expected a number with an optional k/M/G suffix`,
    );
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase()]!;
  const n = Number(m[1]) * mult;
  if (!Number.isSafeInteger(n)) throw new IscsiError("INVALID_ARGUMENT", `${what} ${text} is too large`);
  return n;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2) + "\n");
}

/** A plain aligned table on stdout. */
export function printTable(headers: string[], rows: Array<Array<string | number>>): void {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  for (const r of cells)
    process.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ") + "\n");
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** A progress bar on stderr, only when stderr is a terminal. */
export class Progress {
  private last = 0;
  private readonly started = performance.now();
  private readonly tty = process.stderr.isTTY === true;
  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number): void {
    if (!this.tty) return;
    const now = performance.now();
    if (now - this.last < 100 && done < this.total) return;
    this.last = now;
    const frac = this.total === 0 ? 1 : done / this.total;
    const width = 30;
    const bar = "#".repeat(Math.round(frac * width)).padEnd(width, ".");
    const rate = done / Math.max(0.001, (now - this.started) / 1000);
    process.stderr.write(
      `\r${this.label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${formatBytes(done)} ${formatBytes(rate)}/s `,
    );
  }

  done(): void {
    if (this.tty) process.stderr.write("\n");
  }
}

/** `--connections N`: MaxConnections to offer (RFC 7143 §13.2); 1 when absent. */
export function connectionsFrom(args: { connections?: unknown }): number {
  if (args.connections === undefined) return 1;
  const text = String(args.connections);
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535))
    throw new IscsiError(
      "INVALID_ARGUMENT",
      `--connections must be a whole number from 1 to 65535, not ${JSON.stringify(text)}`,
    );
  return n;
}
