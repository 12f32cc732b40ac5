// `iscsi discover PORTAL` (SendTargets) or `iscsi discover --isns SERVER[:PORT]` (an iSNS query). When a daemon
// runs, it asks through it so the targets are recorded as nodes (as iscsiadm does) and, for iSNS, watched;
// with --no-record, CHAP flags, or no daemon, it asks directly and records nothing.
import { defineCommand } from "citty";
import { DEFAULT_ISNS_PORT, isnsDiscover } from "../discovery/isns-client.ts";
import { discover } from "../discovery/send-targets.ts";
import { errorCodeOf, IscsiError } from "../contract/errors.ts";
import { ask, failIfAny, socketArg } from "./_daemon.ts";
import { foundTargets, printLoginResults } from "./_format.ts";
import { printOutput, type Output } from "./_json.ts";
import { formatPortal, type Portal } from "../transport/portal.ts";
import { warnSkippedNodes } from "./_set-aside.ts";
import {
  authArgs,
  authFrom,
  digestArgs,
  digestsFrom,
  loginTimeoutArg,
  loginTimeoutFrom,
  initiatorArg,
  initiatorNameFrom,
  jsonArg,
  parsePortal,
  printTable,
} from "./_shared.ts";

type Found = Output<"discovery">["targets"];

function print(
  portal: Portal,
  targets: Found,
  json: boolean,
  extra: Omit<Output<"discovery">, "portal" | "targets">,
): void {
  if (json) return printOutput("discovery", { portal: { host: portal.host, port: portal.port }, targets, ...extra });
  if (targets.length === 0) {
    process.stderr.write(`no targets at ${formatPortal(portal)}\n`);
    return;
  }
  // iscsiadm's layout: PORTAL,TPGT IQN
  printTable(
    ["PORTAL", "TARGET"],
    targets.flatMap((t) => t.portals.map((p) => [`${formatPortal(p)},${p.tpgt}`, t.name])),
  );
}

/** CHAP or digest flags are for a direct SendTargets: the daemon uses the stored discovery settings. */
const direct = (args: Record<string, unknown>) =>
  Boolean(
    args["chap-user"] ||
      args["chap-secret-file"] ||
      args["mutual-user"] ||
      process.env.ISCSI_CHAP_USER ||
      args["header-digest"] ||
      args["data-digest"] ||
      args["login-timeout"],
  );

export default defineCommand({
  meta: {
    name: "discover",
    description:
      "List the targets a portal offers (SendTargets) or an iSNS server lists; records them as nodes when a daemon runs",
  },
  args: {
    portal: { type: "positional", required: false, description: "HOST[:PORT] of the discovery portal (SendTargets)" },
    isns: {
      type: "string",
      description: "Ask the iSNS server at HOST[:PORT] (port 3205 by default) instead of a portal",
    },
    record: {
      type: "boolean",
      default: true,
      description: "Record the targets in the daemon's node database when a daemon runs (--no-record: only list)",
    },
    login: { type: "boolean", description: "Also log in to every discovered node (needs the daemon)" },
    ...authArgs,
    ...digestArgs,
    ...loginTimeoutArg,
    ...initiatorArg,
    ...socketArg,
    ...jsonArg,
  },
  async run({ args }) {
    if (Boolean(args.portal) === Boolean(args.isns))
      throw new IscsiError(
        "INVALID_ARGUMENT",
        "give either a portal (SendTargets) or --isns SERVER[:PORT], not both or neither",
      );
    if (args.isns && direct(args))
      throw new IscsiError(
        "INVALID_ARGUMENT",
        "CHAP, digest and login-timeout flags apply to SendTargets portals; an iSNS query does not log in",
      );
    const portal = args.isns ? parsePortal(args.isns, DEFAULT_ISNS_PORT) : parsePortal(args.portal!);
    if (args.record && !direct(args)) {
      try {
        const r = await ask(args, {
          op: "discover",
          portal,
          login: args.login ?? false,
          ...(args.isns ? { type: "isns" as const } : {}),
        });
        warnSkippedNodes(r.nodes.quarantined);
        print(portal, r.targets, args.json, {
          recorded: true,
          nodes: r.nodes,
          ...(r.logins ? { logins: r.logins } : {}),
        });
        if (r.logins && !args.json) printLoginResults(r.logins);
        if (r.logins) failIfAny(r.logins, "logins", !args.json);
        return;
      } catch (err) {
        const code = errorCodeOf(err);
        if (args.login || (code !== "DAEMON_NOT_RUNNING" && code !== "ACCESS")) throw err;
      }
    } else if (args.login) {
      throw new IscsiError(
        "INVALID_ARGUMENT",
        "--login goes through the daemon: drop --no-record and the CHAP and digest flags (store discovery secrets with `iscsi secret set --discovery`)",
      );
    }
    const targets = args.isns
      ? await isnsDiscover({ server: portal, initiatorName: initiatorNameFrom(args) })
      : await discover({
          portal,
          initiatorName: initiatorNameFrom(args),
          auth: authFrom(args),
          proposal: digestsFrom(args),
          ...loginTimeoutFrom(args),
        });
    print(portal, foundTargets(targets), args.json, { recorded: false });
  },
});
