// Reaching the daemon from a subcommand: --socket/$ISCSI_SOCKET, portal filters as iscsiadm reads them
// (HOST matches any port), secrets read from stdin or a file, and per-node results turned into an exit code.
import { readFileSync } from "node:fs";
import { resolvePaths } from "../config/paths.ts";
import { errorCodeOf, IscsiError, isErrorCode } from "../contract/errors.ts";
import { call } from "../ipc/client.ts";
import type { Op, RequestOf, ResultOf } from "../contract/protocol.ts";
import { parsePortal } from "./_shared.ts";
import { fileError } from "./_output.ts";

export const socketArg = {
  socket: {
    type: "string",
    description:
      "The daemon's control socket (default: $ISCSI_SOCKET, /var/run/iscsi/iscsid.sock on Linux, /var/run/iscsid.sock on macOS)",
  },
} as const;

export const stateDirArg = {
  "state-dir": {
    type: "string",
    description:
      "State directory (default: $ISCSI_STATE_DIR, /var/lib/iscsi on Linux, /Library/Application Support/iscsi on macOS)",
  },
} as const;

export function socketPath(args: Record<string, unknown>): string {
  return resolvePaths({ socket: args.socket }).socket;
}

/** One request to the daemon named by the args. */
export function ask<K extends Op>(
  args: Record<string, unknown>,
  request: RequestOf<K> & { op: K },
): Promise<ResultOf<K>> {
  return call<K>(socketPath(args), request);
}

/** HOST, HOST:PORT, [IPv6]:PORT; the port stays undefined when not given (a filter then matches any port). */
export function parsePortalFilter(text: string): { host: string; port?: number } {
  const p = parsePortal(text);
  const bare = text.trim().replace(/,\d+$/, "");
  const hasPort = /^\[[^\]]+\]:\d+$/.test(bare) || /^[^:[\]]+:\d+$/.test(bare);
  return hasPort ? p : { host: p.host };
}

/** A CHAP secret from a file's first line or from stdin (never argv); a trailing newline is dropped. */
export async function readSecretInput(file: string | undefined): Promise<string> {
  let text: string;
  if (file) {
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw fileError(file, "read the secret from", err);
    }
  } else if (process.stdin.isTTY) {
    text = await promptHidden("CHAP secret: ");
  } else {
    text = await Bun.stdin.text();
  }
  const line = text.split(/\r?\n/)[0] ?? "";
  if (line === "") throw new IscsiError("INVALID_ARGUMENT", `no secret given on ${file ? file : "stdin"}`);
  return line;
}

export interface OpOutcome {
  ok: boolean;
  error?: { code: string; message: string };
}

/** Exit status of per-node results: success when all succeeded, otherwise the first failure's code. */
/**
 * Fail with the first failure's code when any outcome failed. `printed`: each failure is already on stderr
 * (printLoginResults/printLogoutResults), so main.ts prints nothing more and each error appears once.
 */
export function failIfAny(results: OpOutcome[], what: string, printed = false): void {
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) return;
  const first = failed[0]!.error!;
  const code = isErrorCode(first.code) ? first.code : "GENERIC";
  const err = new IscsiError(
    code,
    failed.length === 1 && results.length === 1
      ? first.message
      : `${failed.length} of ${results.length} ${what} failed; first: ${first.message}`,
  );
  throw printed ? Object.assign(err, { reported: true }) : err;
}

/** One line from the terminal with echo off (stty), so the secret is not shown either. */
async function promptHidden(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  Bun.spawnSync(["stty", "-echo"], { stdin: "inherit" });
  try {
    for await (const line of console) return line;
    return "";
  } finally {
    Bun.spawnSync(["stty", "echo"], { stdin: "inherit" });
    process.stderr.write("\n");
  }
}

/** The daemon's attachments, for showing which LUN is which local disk; none where attaching is unavailable. */
export async function attachmentsFor(args: Record<string, unknown>): Promise<ResultOf<"attach.list">> {
  try {
    return await ask(args, { op: "attach.list" });
  } catch (err) {
    if (errorCodeOf(err) === "ATTACH_UNAVAILABLE") return [];
    throw err;
  }
}
