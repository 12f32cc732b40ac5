// `iscsi paths`: multipath devices (one per logical unit), their policy, and each path's session, portal,
// state and counters (docs/multipath.md); human or --json.
import { defineCommand } from "citty";
import { printable } from "../config/names.ts";
import type { DeviceView } from "../contract/views.ts";
import { IscsiError } from "../contract/errors.ts";
import { ask, socketArg } from "./_daemon.ts";
import { formatPortal } from "../transport/portal.ts";
import { jsonArg, printJson, printTable } from "./_shared.ts";

export default defineCommand({
  meta: { name: "paths", description: "List multipath devices and their paths" },
  args: {
    device: { type: "positional", required: false, description: "Only this device (mpatha, …)" },
    ...socketArg,
    ...jsonArg,
  },
  async run({ args }) {
    if (args.device !== undefined && !/^mpath[a-z]+$/.test(args.device))
      throw new IscsiError(
        "INVALID_ARGUMENT",
        `${JSON.stringify(args.device)} is not a multipath device name (mpatha, mpathb, …)`,
      );
    const { devices } = await ask(args, { op: "paths.list", ...(args.device ? { device: args.device } : {}) });
    if (args.json) return printJson({ devices });
    if (devices.length === 0) {
      process.stderr.write("no multipath devices (log in to a target first)\n");
      return;
    }
    for (const [i, d] of devices.entries()) printDevice(d, i > 0);
  },
});

function printDevice(d: DeviceView, gap: boolean): void {
  if (gap) process.stdout.write("\n");
  const wait = d.noPathRetry < 0 ? "forever" : `${d.noPathRetry} s`;
  process.stdout.write(
    `${d.name} ${d.wwid} ${printable(d.target)}\n  state ${d.state}, policy ${d.policy}${d.policy === "failover" ? ` (failback ${d.failback})` : ""}, no_path_retry ${wait}, checker every ${d.pollingInterval} s; ${d.stats.commands} commands, ${d.stats.reissued} re-issued\n`,
  );
  printTable(
    ["SID", "PORTAL", "LUN", "STATE", "ACTIVE", "IN FLIGHT", "COMMANDS", "ERRORS", "SERVICE µs"],
    d.paths.map((p) => [
      p.sid,
      formatPortal(p.portal),
      p.lun,
      p.reason ? `${p.state} (${p.reason})` : p.state,
      p.active ? "yes" : "-",
      p.inFlight,
      p.counters.commands ?? 0,
      p.counters.errors ?? 0,
      p.serviceMicros,
    ]),
  );
}
