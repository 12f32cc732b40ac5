// What the daemon shows of its state: nodes with secrets reduced to "stored or not", sessions with their
// negotiated parameters (RFC 7143 §13), counters and LUNs. The IPC schemas (src/ipc/protocol.ts) check these shapes.
import { printable } from "../config/names.ts";
import { SETTING_NAMES, type NodeSettings } from "../config/node-settings.ts";
import type { DiscoveryRecord } from "./discovery-db.ts";
import type { LunInfo } from "./engine.ts";
import type { NodeRecord, Portal } from "./node-db.ts";
import type { SessionPathView } from "./path-views.ts";
import type { SessionEntry } from "./registry.ts";

export interface NodeView {
  target: string;
  portal: Portal;
  tpgt: number;
  startup: string;
  settings: Record<string, string | number>;
  /** Whether each secret is stored; never the secret. */
  secrets: { password: boolean; password_in: boolean };
  /** Settings the user changed, kept across rediscovery. */
  userSet: string[];
  discovery?: { host: string; port: number; type: "sendtargets" };
  sid?: number;
}

export interface NegotiatedView {
  headerDigest: "None" | "CRC32C";
  dataDigest: "None" | "CRC32C";
  maxRecvDataSegmentLength: number;
  maxXmitDataSegmentLength: number;
  firstBurstLength: number;
  maxBurstLength: number;
  immediateData: boolean;
  initialR2T: boolean;
  maxOutstandingR2T: number;
  maxConnections: number;
  errorRecoveryLevel: number;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  dataPDUInOrder: boolean;
  dataSequenceInOrder: boolean;
  authMethod: string;
  chapAlgorithm?: number;
  targetAlias?: string;
}

export interface SessionView {
  sid: number;
  target: string;
  /** Where the session is connected (after redirects). */
  portal: Portal;
  /** The node's portal. */
  persistentPortal: Portal;
  tpgt: number;
  state: string;
  error?: string;
  iface: string;
  initiatorName: string;
  isid: string;
  tsih: number;
  since: string;
  negotiated: NegotiatedView;
  stats: Record<string, number>;
  luns: LunInfo[];
  /** Reconnects of this session (design.md §3), newest last. */
  history: Array<{ at: string; event: string; detail: string }>;
  /** Its TCP connections (MC/S, RFC 7143 §6.1): CID, peer, commands sent and outstanding. */
  connections: Array<{ cid: number; peer: string; outstanding: number; commands: number }>;
  /** The multipath devices its LUs are paths of (docs/multipath.md). */
  paths?: SessionPathView[];
}

export interface DiscoveryView {
  portal: Portal;
  type: "sendtargets";
  settings: Record<string, string | number>;
  secrets: { password: boolean; password_in: boolean };
  lastDiscovered?: string;
  targets?: number;
}

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
    ...(sid !== undefined ? { sid } : {}),
  };
}

export function discoveryView(r: DiscoveryRecord, secrets: DiscoveryView["secrets"]): DiscoveryView {
  return { portal: { ...r.portal }, type: r.type, settings: { ...r.settings }, secrets, lastDiscovered: r.lastDiscovered, targets: r.targets };
}

export function sessionView(e: SessionEntry): SessionView {
  const n = e.session.negotiated;
  const state = e.session.state;
  return {
    sid: e.sid,
    target: e.target,
    portal: { host: e.session.portal.host, port: e.session.portal.port },
    persistentPortal: { ...e.portal },
    tpgt: n.targetPortalGroupTag ?? e.tpgt,
    state: state.kind,
    ...(state.error ? { error: state.error.message } : {}),
    iface: "default",
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
    luns: e.luns.map((l) => ({ ...l, vendor: printable(l.vendor), product: printable(l.product), revision: printable(l.revision) })),
    history: (e.session.history ?? []).map((h) => ({ at: new Date(h.at).toISOString(), event: h.event, detail: h.detail })),
    connections: e.session.connections?.views() ?? [],
  };
}
