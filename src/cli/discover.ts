// `iscsi discover PORTAL`: SendTargets discovery without a daemon.
import { defineCommand } from "citty";
import { discover } from "../discovery/send-targets.ts";
import { authArgs, authFrom, formatPortal, initiatorArg, initiatorNameFrom, jsonArg, parsePortal, printJson, printTable } from "./_shared.ts";

export default defineCommand({
  meta: { name: "discover", description: "List the targets a portal offers (SendTargets)" },
  args: {
    portal: { type: "positional", required: true, description: "HOST[:PORT] of the discovery portal" },
    ...authArgs,
    ...initiatorArg,
    ...jsonArg,
  },
  async run({ args }) {
    const portal = parsePortal(args.portal);
    const targets = await discover({ portal, initiatorName: initiatorNameFrom(args), auth: authFrom(args) });
    if (args.json) {
      printJson({ portal: formatPortal(portal), targets });
      return;
    }
    if (targets.length === 0) {
      process.stderr.write(`no targets at ${formatPortal(portal)}\n`);
      return;
    }
    // iscsiadm's layout: PORTAL,TPGT IQN
    printTable(
      ["PORTAL", "TARGET"],
      targets.flatMap((t) => t.portals.map((p) => [`${formatPortal(p)},${p.portalGroupTag ?? 1}`, t.name])),
    );
  },
});
