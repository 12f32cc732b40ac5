// Human output of daemon results: iscsiadm's line and record layouts (so scripts written for it keep
// working) and the native tables. Target-supplied text is escaped; secrets are only ever "********".
import { printable } from "../config/names.ts";
import type {
  AttachmentView,
  DiscoveryView,
  LoginResult,
  LogoutResult,
  NodeView,
  SessionView,
} from "../contract/views.ts";
import type { DiscoveredTarget } from "../discovery/send-targets.ts";
import { VERSION } from "../version.ts";
import { formatPortal } from "../transport/portal.ts";
import { formatBytes, printTable } from "./_shared.ts";

const out = (line: string) => process.stdout.write(line + "\n");
/** iscsiadm writes portals as HOST:PORT,TPGT in lists and HOST,PORT inside brackets. */
const portalTpgt = (p: { host: string; port: number }, tpgt: number) => `${formatPortal(p)},${tpgt}`;
const bracketPortal = (p: { host: string; port: number }) => `${p.host},${p.port}`;

/** iscsiadm's `PORTAL,TPGT IQN` lines; a node discovery found gone gets a trailing " (stale)". */
export function printNodeLines(
  nodes: Array<{ target: string; portal: { host: string; port: number }; tpgt: number; stale?: string }>,
): void {
  for (const n of nodes) out(`${portalTpgt(n.portal, n.tpgt)} ${printable(n.target)}${n.stale ? " (stale)" : ""}`);
}

/** `-m node -T … -o show`: one record per node, secrets masked as iscsiadm does. */
export function printNodeRecord(n: NodeView): void {
  out(`# BEGIN RECORD iscsi ${VERSION}`);
  out(`node.name = ${printable(n.target)}`);
  out(`node.tpgt = ${n.tpgt}`);
  for (const [name, value] of Object.entries(n.settings)) {
    out(`${name} = ${value === "" ? "<empty>" : value}`);
    if (name === "node.session.auth.username")
      out(`node.session.auth.password = ${n.secrets.password ? "********" : "<empty>"}`);
    if (name === "node.session.auth.username_in")
      out(`node.session.auth.password_in = ${n.secrets.password_in ? "********" : "<empty>"}`);
  }
  out(`node.conn[0].address = ${n.portal.host}`);
  out(`node.conn[0].port = ${n.portal.port}`);
  out(`node.discovery_address = ${n.discovery?.host ?? "<empty>"}`);
  out(`node.discovery_port = ${n.discovery?.port ?? 0}`);
  out(`node.discovery_type = ${n.discovery?.type === "isns" ? "isns" : n.discovery ? "send_targets" : "static"}`);
  if (n.stale) out(`# stale since ${n.stale}: the discovery server no longer lists this target`);
  out("# END RECORD");
}

export function printDiscoveryRecord(r: DiscoveryView): void {
  out(`# BEGIN RECORD iscsi ${VERSION}`);
  out(`discovery.startup = manual`);
  out(`discovery.type = ${r.type}`);
  out(`discovery.${r.type}.address = ${r.portal.host}`);
  out(`discovery.${r.type}.port = ${r.portal.port}`);
  for (const [name, value] of Object.entries(r.settings)) {
    out(`${name} = ${value === "" ? "<empty>" : value}`);
    if (name === "discovery.sendtargets.auth.username")
      out(`discovery.sendtargets.auth.password = ${r.secrets.password ? "********" : "<empty>"}`);
    if (name === "discovery.sendtargets.auth.username_in")
      out(`discovery.sendtargets.auth.password_in = ${r.secrets.password_in ? "********" : "<empty>"}`);
  }
  out("# END RECORD");
}

export function printLoginResults(results: LoginResult[]): void {
  for (const r of results) {
    const what = `[iface: default, target: ${printable(r.target)}, portal: ${bracketPortal(r.portal)}]`;
    out(`Logging in to ${what}`);
    if (r.ok) out(`Login to ${what} successful.`);
    else
      process.stderr.write(`iscsi: could not log in to ${what} after ${r.attempts} attempt(s): ${r.error?.message}\n`);
  }
}

export function printLogoutResults(results: LogoutResult[]): void {
  for (const r of results) {
    const what = `[sid: ${r.sid}, target: ${printable(r.target)}, portal: ${bracketPortal(r.portal)}]`;
    out(`Logging out of session ${what}`);
    if (r.ok) out(`Logout of ${what} successful.`);
    else process.stderr.write(`iscsi: could not log out of ${what}: ${r.error?.message}\n`);
  }
}

const CONNECTION_STATE: Record<string, [string, string]> = {
  "full-feature": ["LOGGED IN", "LOGGED_IN"],
  recovering: ["TRANSPORT WAIT", "FAILED"],
  verifying: ["LOGGED IN", "IN RECOVERY"],
  "logging-out": ["LOGGING OUT", "LOGGED_IN"],
  failed: ["FAILED", "FAILED"],
  closed: ["FREE", "FREE"],
};
const yesNo = (b: boolean) => (b ? "Yes" : "No");

type AttachmentList = AttachmentView[];

/** SendTargets results in the one shape every command prints (portal group tag 1 when the target gave none). */
export function foundTargets(
  targets: DiscoveredTarget[],
): Array<{ name: string; portals: Array<{ host: string; port: number; tpgt: number }> }> {
  return targets.map((t) => ({
    name: t.name,
    portals: t.portals.map((p) => ({ host: p.host, port: p.port, tpgt: p.portalGroupTag ?? 1 })),
  }));
}

/** iscsiadm's line under an attached LUN (scripts grep for "Attached scsi disk"): the local device and its state. */
function attachedLine(a: AttachmentList[number] | undefined): string {
  if (!a) return "\tnot attached";
  const dev = (a.device ?? a.file).replace(/^\/dev\//, "");
  return `\tAttached scsi disk ${dev}\t\tState: ${a.state === "attached" ? "running" : a.state}${a.mountPoint ? ` (mounted on ${a.mountPoint})` : ""}`;
}

/**
 * `-m session -P 0..3`: 0 one line per session; 1 the tree with state; 2 adds negotiated parameters; 3 adds
 * LUNs and, for each attached one, its local device from the daemon's attachment list.
 */
export function printSessions(sessions: SessionView[], level: number, attachments: AttachmentList = []): void {
  if (level <= 0) {
    for (const s of sessions) out(`tcp: [${s.sid}] ${portalTpgt(s.portal, s.tpgt)} ${printable(s.target)} (non-flash)`);
    return;
  }
  out(`iscsi version ${VERSION}`);
  for (const s of sessions) {
    const [conn, sess] = CONNECTION_STATE[s.state] ?? [s.state.toUpperCase(), s.state.toUpperCase()];
    out(`Target: ${printable(s.target)} (non-flash)`);
    out(`\tCurrent Portal: ${portalTpgt(s.portal, s.tpgt)}`);
    out(`\tPersistent Portal: ${portalTpgt(s.persistentPortal, s.tpgt)}`);
    const block = (title: string, lines: string[]) => {
      out(`\t\t${"*".repeat(title.length)}`);
      out(`\t\t${title}`);
      out(`\t\t${"*".repeat(title.length)}`);
      for (const l of lines) out(`\t\t${l}`);
    };
    block("Interface:", [
      `Iface Name: ${s.iface}`,
      "Iface Transport: tcp",
      `Iface IPaddress: ${s.ifaceIpaddress ?? "<empty>"}`,
      `Iface Netdev: ${s.ifaceNetdev ?? "<empty>"}`,
      `Iface Initiatorname: ${s.initiatorName}`,
      `SID: ${s.sid}`,
      `ISID: ${s.isid}`,
      `TSIH: ${s.tsih}`,
      `iSCSI Connection State: ${conn}`,
      `iSCSI Session State: ${sess}`,
      ...(s.error ? [`Last Error: ${printable(s.error)}`] : []),
      `Logged In Since: ${s.since}`,
    ]);
    if (s.connections.length > 1)
      block(
        "Connections:",
        s.connections.map((c) => `CID ${c.cid}: ${c.peer}, ${c.commands} commands, ${c.outstanding} outstanding`),
      );
    if (s.paths?.length)
      block(
        "Multipath:",
        s.paths.map((p) => `Path of ${p.device} (LUN ${p.lun}): ${p.state}${p.active ? ", active" : ""}`),
      );
    if (level >= 2) {
      const n = s.negotiated;
      block("Negotiated iSCSI params:", [
        `HeaderDigest: ${n.headerDigest}`,
        `DataDigest: ${n.dataDigest}`,
        `MaxRecvDataSegmentLength: ${n.maxRecvDataSegmentLength}`,
        `MaxXmitDataSegmentLength: ${n.maxXmitDataSegmentLength}`,
        `FirstBurstLength: ${n.firstBurstLength}`,
        `MaxBurstLength: ${n.maxBurstLength}`,
        `ImmediateData: ${yesNo(n.immediateData)}`,
        `InitialR2T: ${yesNo(n.initialR2T)}`,
        `MaxOutstandingR2T: ${n.maxOutstandingR2T}`,
        `ErrorRecoveryLevel: ${n.errorRecoveryLevel}`,
        `DefaultTime2Wait: ${n.defaultTime2Wait}`,
        `DefaultTime2Retain: ${n.defaultTime2Retain}`,
        `AuthMethod: ${n.authMethod}`,
        ...(n.targetAlias ? [`TargetAlias: ${n.targetAlias}`] : []),
      ]);
    }
    if (level >= 3) {
      const attachedAt = (lun: number) => attachments.find((a) => a.sid === s.sid && a.lun === lun);
      block(
        "Attached SCSI devices:",
        s.luns.length === 0
          ? ["(no LUNs reported)"]
          : s.luns.flatMap((l) =>
              l.error
                ? [`LUN ${l.lun}: ${l.error}`]
                : [
                    `Lun: ${l.lun} ${l.deviceType}, ${[l.vendor, l.product, l.revision].filter(Boolean).join(" ")}${l.bytes ? `, ${formatBytes(Number(l.bytes))} (${l.blockSize}-byte blocks)` : ""}`,
                    attachedLine(attachedAt(l.lun)),
                  ],
            ),
      );
    }
  }
}

export function printSessionTable(sessions: SessionView[]): void {
  printTable(
    ["SID", "TARGET", "PORTAL", "STATE", "DIGESTS", "LUNS"],
    sessions.map((s) => [
      s.sid,
      printable(s.target),
      formatPortal(s.portal),
      s.state,
      `${s.negotiated.headerDigest}/${s.negotiated.dataDigest}`,
      s.luns.map((l) => l.lun).join(",") || "-",
    ]),
  );
}

export function printNodeTable(nodes: NodeView[]): void {
  printTable(
    ["TARGET", "PORTAL", "STARTUP", "AUTH", "SESSION"],
    nodes.map((n) => [
      printable(n.target),
      portalTpgt(n.portal, n.tpgt),
      n.startup,
      String(n.settings["node.session.auth.authmethod"]),
      n.sid ? `sid ${n.sid}` : n.stale ? "stale" : "-",
    ]),
  );
}

export function printAttachmentTable(attachments: AttachmentView[]): void {
  printTable(
    ["ID", "DEVICE", "TARGET", "LUN", "STATE", "SIZE", "MOUNTED ON", "I/O"],
    attachments.map((a) => [
      a.id,
      a.device ?? a.export?.url ?? (a.file || "-"),
      printable(a.target),
      a.lun,
      a.state,
      `${formatBytes(Number(a.sizeBytes))}${a.readOnly ? " ro" : ""}`,
      a.mountPoint ?? "-",
      a.nfs
        ? `${a.nfs.reads} r / ${a.nfs.writes} w / ${a.nfs.commits} commit / ${a.nfs.jukebox} jukebox / ${a.nfs.errors} err`
        : `${a.stats.reads} r / ${a.stats.writes} w / ${a.stats.errors} err`,
    ]),
  );
}

/** One line per attachment: what it is now called locally. */
export function describeAttachment(a: AttachmentView): string {
  const where = a.device ?? a.export?.url ?? a.file;
  return `LUN ${a.lun} of ${printable(a.target)} (${formatPortal(a.portal)}) as ${where}${a.mountPoint ? ` on ${a.mountPoint}` : ""}`;
}
