// `iscsi logout`: end sessions by target, portal or SID, or all of them; also stops their background retries.
import { defineCommand } from "citty";
import { IscsiError } from "../contract/errors.ts";
import { ask, failIfAny, parsePortalFilter, socketArg } from "./_daemon.ts";
import { printLogoutResults } from "./_format.ts";
import { jsonArg, printJson } from "./_shared.ts";

export default defineCommand({
  meta: { name: "logout", description: "Log out of sessions through the daemon (iscsiadm -m node --logout, -U all)" },
  args: {
    target: { type: "positional", required: false, description: "Target IQN" },
    portal: { type: "string", alias: "p", description: "Only sessions to HOST[:PORT]" },
    sid: { type: "string", alias: "r", description: "Only this session id" },
    all: { type: "boolean", description: "Every session (iscsiadm -U all)" },
    ...socketArg,
    ...jsonArg,
  },
  async run({ args }) {
    if (!args.target && !args.portal && !args.sid && !args.all)
      throw new IscsiError("INVALID_ARGUMENT", "name a target, a --portal, a --sid, or use --all");
    if (args.sid !== undefined && !/^\d+$/.test(args.sid))
      throw new IscsiError("INVALID_ARGUMENT", `--sid must be a session number, not ${JSON.stringify(args.sid)}`);
    const { results } = await ask(args, {
      op: "logout",
      ...(args.target ? { target: args.target } : {}),
      ...(args.portal ? { portal: parsePortalFilter(args.portal) } : {}),
      ...(args.sid ? { sid: Number(args.sid) } : {}),
      ...(args.all ? { all: true } : {}),
    });
    if (args.json) printJson({ results });
    else printLogoutResults(results);
    failIfAny(results, "logouts", !args.json);
  },
});
