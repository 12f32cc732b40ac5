// iscsiadm's session and iface modes: `-m session [-P 0..3] [-r SID] [-R] [-s] [-u]` and `-m iface`.
// No sessions is exit 21 (ISCSI_ERR_NO_OBJS_FOUND), as iscsiadm does.
import { IscsiError } from "../contract/errors.ts";
import { ask, attachmentsFor, failIfAny } from "./_daemon.ts";
import { printLogoutResults, printSessions } from "./_format.ts";
import type { AdmArgs } from "./_adm-args.ts";
import { printJson, printTable } from "./_shared.ts";
import { printOutput } from "./_json.ts";

export async function runSession(a: AdmArgs): Promise<void> {
  const args = a as unknown as Record<string, unknown>;
  const sid = a.sid !== undefined ? { sid: a.sid } : {};
  if (a.logout) {
    if (a.sid === undefined)
      throw new IscsiError("INVALID_ARGUMENT", "-m session --logout needs -r SID (or use -m node -U all)");
    const { results } = await ask(args, { op: "logout", sid: a.sid });
    if (a.json) printJson({ results });
    else printLogoutResults(results);
    return failIfAny(results, "logouts", !a.json);
  }
  const { sessions } = a.rescan
    ? await ask(args, { op: "sessions.rescan", ...sid })
    : await ask(args, { op: "sessions.list", ...sid });
  if (a.json) printOutput("sessions", { sessions });
  if (sessions.length === 0) throw new IscsiError("NOT_FOUND", "No active sessions.");
  if (a.json) return;
  if (a.rescan)
    for (const s of sessions)
      process.stdout.write(
        `Rescanning session [sid: ${s.sid}, target: ${s.target}, portal: ${s.persistentPortal.host},${s.persistentPortal.port}]\n`,
      );
  if (a.stats) {
    for (const s of sessions) {
      process.stdout.write(
        `Stats for session [sid: ${s.sid}, target: ${s.target}, portal: ${s.persistentPortal.host},${s.persistentPortal.port}]\n`,
      );
      for (const [k, v] of Object.entries(s.stats)) process.stdout.write(`\t${k}: ${v}\n`);
    }
    return;
  }
  if (!a.rescan || a.print !== undefined)
    printSessions(sessions, a.print ?? 0, (a.print ?? 0) >= 3 ? await attachmentsFor(args) : []);
}

/** One interface, "default", over TCP: the same as iscsiadm shows on a host without offload. */
export async function runIface(a: AdmArgs): Promise<void> {
  if (a.iface !== undefined && a.iface !== "default")
    throw new IscsiError("NOT_FOUND", `no interface ${JSON.stringify(a.iface)}; only "default" (tcp) exists`);
  if (a.ops.length > 0 && a.ops[0] !== "show")
    throw new IscsiError("NOT_SUPPORTED", "interfaces other than default cannot be created or changed");
  const iface = {
    name: "default",
    transport: "tcp",
    hwaddress: null,
    ipaddress: null,
    netIfaceName: null,
    initiatorName: null,
  };
  if (a.json) return printJson({ ifaces: [iface] });
  if (a.iface !== undefined) {
    printTable(
      ["KEY", "VALUE"],
      [
        ["iface.iscsi_ifacename", "default"],
        ["iface.transport_name", "tcp"],
        ["iface.hwaddress", "<empty>"],
        ["iface.ipaddress", "<empty>"],
        ["iface.initiatorname", "<empty>"],
      ],
    );
    return;
  }
  process.stdout.write("default tcp,<empty>,<empty>,<empty>,<empty>\n");
}
