// `iscsi set NAME VALUE`: change one setting of the matching node records (iscsiadm -o update -n -v);
// the change is the user's and survives rediscovery. Secrets are refused here: see `iscsi secret`.
import { defineCommand } from "citty";
import { IscsiError } from "../contract/errors.ts";
import { ask, parsePortalFilter, socketArg } from "./_daemon.ts";
import { secretOnArgv } from "./_adm-discovery.ts";
import { jsonArg, printJson } from "./_shared.ts";

export default defineCommand({
  meta: { name: "set", description: "Change a node setting, e.g. `iscsi set node.startup automatic -T IQN -p HOST`" },
  args: {
    name: {
      type: "positional",
      required: true,
      description: "Setting name, e.g. node.startup, node.session.auth.username, node.conn[0].iscsi.HeaderDigest",
    },
    value: { type: "positional", required: true, description: "New value" },
    target: { type: "string", alias: "T", description: "Target IQN" },
    portal: { type: "string", alias: "p", description: "Portal HOST[:PORT]" },
    ...socketArg,
    ...jsonArg,
  },
  async run({ args }) {
    if (/\.password(_in)?$/.test(args.name)) throw secretOnArgv(args.name);
    if (!args.target && !args.portal)
      throw new IscsiError(
        "INVALID_ARGUMENT",
        "name the node with --target IQN and/or --portal HOST[:PORT] (iscsi nodes lists them)",
      );
    const r = await ask(args, {
      op: "node.update",
      name: args.name,
      value: args.value,
      ...(args.target ? { target: args.target } : {}),
      ...(args.portal ? { portal: parsePortalFilter(args.portal) } : {}),
    });
    if (args.json) printJson(r);
    else process.stdout.write(`${args.name} = ${args.value} on ${r.count} node record(s)\n`);
  },
});
