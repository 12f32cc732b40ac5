// `iscsi -m …`: the iscsiadm command line, dispatched by mode to the files that implement each one.
import { IscsiError } from "../contract/errors.ts";
import { runDiscovery, runDiscoveryDb } from "./_adm-discovery.ts";
import { runNode } from "./_adm-node.ts";
import { runIface, runSession } from "./_adm-session.ts";
import { ADM_USAGE, parseAdmArgs } from "./_adm-args.ts";

export async function runIscsiadm(argv: string[]): Promise<void> {
  const a = parseAdmArgs(argv);
  if (a.help) {
    process.stdout.write(ADM_USAGE);
    return;
  }
  switch (a.mode) {
    case "discovery":
      return runDiscovery(a);
    case "discoverydb":
      return runDiscoveryDb(a);
    case "node":
      return runNode(a);
    case "session":
      return runSession(a);
    case "iface":
      return runIface(a);
    case "fw":
    case "host":
    case "fw_node":
      throw new IscsiError(
        "NOT_SUPPORTED",
        `mode ${a.mode} is not supported (no offload hardware or boot firmware tables)`,
      );
    default:
      throw new IscsiError(
        "INVALID_ARGUMENT",
        `unknown mode ${JSON.stringify(a.mode)}: use discovery, discoverydb, node, session or iface`,
      );
  }
}
