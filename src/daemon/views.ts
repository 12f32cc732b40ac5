// What the daemon shows of its state: nodes with secrets reduced to "stored or not", sessions with their
// negotiated parameters (RFC 7143 §13), counters and LUNs. Their types and schemas are the contract's (src/contract/views.ts).
import { listQuarantined, type QuarantinedFile } from "../config/quarantine.ts";
import { printable } from "../config/names.ts";
import { SETTING_NAMES, type NodeSettings } from "../config/node-settings.ts";
import type { DiscoveryRecord } from "./discovery-db.ts";
import type { NodeRecord } from "./node-db.ts";
import type { SessionEntry } from "./registry.ts";
import { localAddressOf } from "./engine.ts";
import type { DiscoveryView, NodeView, SessionView } from "../contract/views.ts";

export function nodeView(r: NodeRecord, secrets: NodeView["secrets"], sid?: number): NodeView {
  const settings: NodeSettings = r.settings;
  return {
    target: r.target,
    portal: { ...r.portal },
    tpgt: r.tpgt,
    startup: settings["node.startup"],
    settings: Object.fromEntries(SETTING_NAMES.map((n) => [n, settings[n]])),
    secrets,
    userSet: [...r.userSet],
    ...(r.discovery ? { discovery: { ...r.discovery } } : {}),
    ...(r.stale ? { stale: r.stale } : {}),
    ...(sid !== undefined ? { sid } : {}),
  };
}

export function discoveryView(r: DiscoveryRecord, secrets: DiscoveryView["secrets"]): DiscoveryView {
  return {
    portal: { ...r.portal },
    type: r.type,
    settings: { ...(r.settings as unknown as Record<string, string | number>) },
    secrets,
    lastDiscovered: r.lastDiscovered,
    targets: r.targets,
  };
}

export function sessionView(e: SessionEntry): SessionView {
  const n = e.session.negotiated;
  const state = e.session.state;
  const local = localAddressOf(e.session);
  return {
    sid: e.sid,
    target: e.target,
    portal: { host: e.session.portal.host, port: e.session.portal.port },
    persistentPortal: { ...e.portal },
    tpgt: n.targetPortalGroupTag ?? e.tpgt,
    state: state.kind,
    ...("error" in state ? { error: state.error.message } : {}),
    iface: "default",
    ...(local ? { ifaceIpaddress: local } : {}),
    ...(e.netdev ? { ifaceNetdev: e.netdev } : {}),
    initiatorName: e.initiatorName,
    isid: e.isid.toString(16).padStart(12, "0"),
    tsih: n.tsih,
    since: e.since,
    negotiated: {
      headerDigest: n.headerDigest ? "CRC32C" : "None",
      dataDigest: n.dataDigest ? "CRC32C" : "None",
      maxRecvDataSegmentLength: n.maxRecvDataSegmentLength,
      maxXmitDataSegmentLength: n.maxXmitDataSegmentLength,
      firstBurstLength: n.firstBurstLength,
      maxBurstLength: n.maxBurstLength,
      immediateData: n.immediateData,
      initialR2T: n.initialR2T,
      maxOutstandingR2T: n.maxOutstandingR2T,
      maxConnections: n.maxConnections,
      errorRecoveryLevel: n.errorRecoveryLevel,
      defaultTime2Wait: n.defaultTime2Wait,
      defaultTime2Retain: n.defaultTime2Retain,
      dataPDUInOrder: n.dataPDUInOrder,
      dataSequenceInOrder: n.dataSequenceInOrder,
      authMethod: n.authMethod,
      ...(n.chapAlgorithm !== undefined ? { chapAlgorithm: n.chapAlgorithm } : {}),
      ...(n.targetAlias !== undefined ? { targetAlias: printable(n.targetAlias) } : {}),
    },
    stats: { ...e.session.stats },
    luns: e.luns.map((l) => ({
      ...l,
      vendor: printable(l.vendor),
      product: printable(l.product),
      revision: printable(l.revision),
    })),
    history: (e.session.history ?? []).map((h) => ({
      at: new Date(h.at).toISOString(),
      event: h.event,
      detail: h.detail,
    })),
    connections: e.session.connections?.views() ?? [],
  };
}

/** Damaged state files set aside in the state dir, for listings (a field only when there are any). */
export function setAsideView(stateDir: string): { quarantined?: QuarantinedFile[] } {
  const found = listQuarantined(stateDir);
  return found.length > 0 ? { quarantined: found } : {};
}
