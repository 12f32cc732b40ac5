// `iscsi login`: log in the nodes the daemon knows (by target and/or portal, or all/automatic ones).
import { defineCommand } from "citty";
import { IscsiError } from "../contract/errors.ts";
import { ask, failIfAny, parsePortalFilter, socketArg } from "./_daemon.ts";
import { printLoginResults } from "./_format.ts";
import { jsonArg, printJson } from "./_shared.ts";

export default defineCommand({
  meta: { name: "login", description: "Log in to recorded nodes through the daemon (iscsiadm -m node --login)" },
  args: {
    target: { type: "positional", required: false, description: "Target IQN (default: every node matching --portal)" },
    portal: { type: "string", alias: "p", description: "Only nodes at HOST[:PORT]" },
    all: { type: "boolean", description: "Every node not logged in yet (iscsiadm -L all)" },
    automatic: { type: "boolean", description: "Every node with node.startup automatic (iscsiadm -L automatic)" },
    ...socketArg,
    ...jsonArg,
  },
  async run({ args }) {
    if (!args.target && !args.portal && !args.all && !args.automatic)
      throw new IscsiError("INVALID_ARGUMENT", "name a target, a --portal, or use --all / --automatic");
    const which = args.all ? "all" : args.automatic ? "automatic" : undefined;
    const { results } = await ask(args, {
      op: "login",
      ...(args.target ? { target: args.target } : {}),
      ...(args.portal ? { portal: parsePortalFilter(args.portal) } : {}),
      ...(which ? { which } : {}),
    });
    if (args.json) printJson({ results });
    else printLoginResults(results);
    failIfAny(results, "logins", !args.json);
  },
});
