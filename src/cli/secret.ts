// `iscsi secret set|clear`: CHAP secrets of a node or discovery portal, read from stdin or a file (never argv),
// handed to the daemon's secret store (Keychain on macOS, a root-only file on Linux) and never printed.
import { defineCommand } from "citty";
import { IscsiError } from "../contract/errors.ts";
import { ask, parsePortalFilter, readSecretInput, socketArg } from "./_daemon.ts";
import { jsonArg, printJson } from "./_shared.ts";

const common = {
  target: { type: "string", alias: "T", description: "Target IQN (node secrets)" },
  portal: { type: "string", alias: "p", required: true, description: "Portal HOST[:PORT]" },
  mutual: { type: "boolean", description: "The target's secret for mutual CHAP (password_in)" },
  discovery: { type: "boolean", description: "The secret of the discovery portal, not of a node" },
  ...socketArg,
  ...jsonArg,
} as const;

function request(args: { target?: string; portal: string; mutual?: boolean; discovery?: boolean }) {
  if (!args.portal) throw new IscsiError("INVALID_ARGUMENT", "--portal HOST[:PORT] is required");
  if (args.discovery && args.target)
    throw new IscsiError("INVALID_ARGUMENT", "--discovery secrets belong to a portal, not a target: drop --target");
  return {
    scope: args.discovery ? ("discovery" as const) : ("node" as const),
    ...(args.target ? { target: args.target } : {}),
    portal: parsePortalFilter(args.portal),
    name: args.mutual ? ("password_in" as const) : ("password" as const),
  };
}

const set = defineCommand({
  meta: { name: "set", description: "Store a CHAP secret read from stdin (or --file); at least 12 bytes" },
  args: { ...common, file: { type: "string", description: "Read the secret from the first line of this file" } },
  async run({ args }) {
    const req = request(args);
    const value = await readSecretInput(args.file);
    const r = await ask(args, { op: "secret.set", ...req, value });
    if (args.json) printJson(r);
    else process.stdout.write(`stored ${req.name} for ${r.count} record(s)\n`);
  },
});

const clear = defineCommand({
  meta: { name: "clear", description: "Remove a stored CHAP secret" },
  args: common,
  async run({ args }) {
    const req = request(args);
    const r = await ask(args, { op: "secret.clear", ...req });
    if (args.json) printJson(r);
    else process.stdout.write(`removed ${req.name} for ${r.count} record(s)\n`);
  },
});

export default defineCommand({
  meta: { name: "secret", description: "Store or remove CHAP secrets (stdin or a file, never the command line)" },
  subCommands: { set, clear },
});
