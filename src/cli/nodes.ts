// `iscsi nodes`: the node database as a table, as full records (--show) or JSON; secrets only as "stored".
import { defineCommand } from "citty";
import { ask, parsePortalFilter, socketArg } from "./_daemon.ts";
import { printNodeRecord, printNodeTable } from "./_format.ts";
import { warnSetAside } from "./_set-aside.ts";
import { jsonArg } from "./_shared.ts";
import { printOutput } from "./_json.ts";

export default defineCommand({
  meta: { name: "nodes", description: "List recorded nodes (iscsiadm -m node)" },
  args: {
    target: { type: "positional", required: false, description: "Only this target IQN" },
    portal: { type: "string", alias: "p", description: "Only nodes at HOST[:PORT]" },
    show: { type: "boolean", description: "Every setting of each record (iscsiadm -o show)" },
    ...socketArg,
    ...jsonArg,
  },
  async run({ args }) {
    const { nodes, quarantined } = await ask(args, {
      op: "nodes.list",
      ...(args.target ? { target: args.target } : {}),
      ...(args.portal ? { portal: parsePortalFilter(args.portal) } : {}),
    });
    warnSetAside(quarantined);
    if (args.json) return printOutput("nodes", { nodes, ...(quarantined ? { quarantined } : {}) });
    if (nodes.length === 0) {
      process.stderr.write("no node records; discover targets first: iscsi discover PORTAL\n");
      return;
    }
    if (args.show) nodes.forEach(printNodeRecord);
    else printNodeTable(nodes);
  },
});
