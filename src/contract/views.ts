// The views the daemon shows and the CLI and dashboard read: one valibot schema each, checked on both ends of
// the control socket, with the TypeScript type inferred from it (the daemon builds values of these types).
import * as v from "valibot";

export const int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
export const host = v.pipe(
  v.string(),
  v.minLength(1, "must not be empty"),
  v.maxLength(255, "must be at most 255 characters"),
  v.regex(/^[^\s/\x00-\x1f\x7f]+$/, "must be a host name or address"),
);
export const portal = v.strictObject({ host, port: int(1, 65535) });

export const opError = v.strictObject({ code: v.string(), message: v.string() });
export const secretsFlags = v.strictObject({ password: v.boolean(), password_in: v.boolean() });
export const settings = v.record(v.string(), v.union([v.string(), v.number()]));
export const discoveryType = v.picklist(["sendtargets", "isns"]);

export const nodeView = v.strictObject({
  target: v.string(),
  portal,
  tpgt: v.number(),
  startup: v.string(),
  settings,
  secrets: secretsFlags,
  userSet: v.array(v.string()),
  discovery: v.optional(v.strictObject({ host: v.string(), port: v.number(), type: discoveryType })),
  /** When discovery last found the target gone (an iSNS server no longer lists it); the record is kept. */
  stale: v.optional(v.string()),
  sid: v.optional(v.number()),
});
export const lun = v.strictObject({
  lun: v.number(),
  deviceType: v.string(),
  vendor: v.string(),
  product: v.string(),
  revision: v.string(),
  blockSize: v.optional(v.number()),
  bytes: v.optional(v.string()),
  error: v.optional(v.string()),
});
export const digest = v.picklist(["None", "CRC32C"]);
export const negotiated = v.strictObject({
  headerDigest: digest,
  dataDigest: digest,
  maxRecvDataSegmentLength: v.number(),
  maxXmitDataSegmentLength: v.number(),
  firstBurstLength: v.number(),
  maxBurstLength: v.number(),
  immediateData: v.boolean(),
  initialR2T: v.boolean(),
  maxOutstandingR2T: v.number(),
  maxConnections: v.number(),
  errorRecoveryLevel: v.number(),
  defaultTime2Wait: v.number(),
  defaultTime2Retain: v.number(),
  dataPDUInOrder: v.boolean(),
  dataSequenceInOrder: v.boolean(),
  authMethod: v.string(),
  chapAlgorithm: v.optional(v.number()),
  targetAlias: v.optional(v.string()),
});
export const recoveryEvent = v.strictObject({ at: v.string(), event: v.string(), detail: v.string() });
export const pathState = v.picklist(["up", "down", "failed"]);
/** One path of a multipath device (docs/multipath.md): a session's way to one LU. */
export const pathView = v.strictObject({
  sid: v.number(),
  target: v.string(),
  portal,
  lun: v.number(),
  state: pathState,
  reason: v.optional(v.string()),
  /** failover: the path in use. */
  active: v.boolean(),
  inFlight: v.number(),
  serviceMicros: v.number(),
  counters: v.record(v.string(), v.number()),
});
/** A multipath device: one LU over every path that reaches it; noPathRetry in seconds, -1 forever. */
export const deviceView = v.strictObject({
  name: v.string(),
  wwid: v.string(),
  target: v.string(),
  state: v.string(),
  policy: v.string(),
  failback: v.string(),
  noPathRetry: v.number(),
  pollingInterval: v.number(),
  paths: v.array(pathView),
  stats: v.record(v.string(), v.number()),
});
/** A session's part in multipath: which device each of its LUs is a path of. */
export const sessionPathView = v.strictObject({
  device: v.string(),
  lun: v.number(),
  state: pathState,
  active: v.boolean(),
});
/** One TCP connection of a session (MC/S, RFC 7143 §6.1); the leading one has CID 0. */
export const connectionView = v.strictObject({
  cid: v.number(),
  peer: v.string(),
  outstanding: v.number(),
  commands: v.number(),
});
export const sessionView = v.strictObject({
  sid: v.number(),
  target: v.string(),
  portal,
  persistentPortal: portal,
  tpgt: v.number(),
  state: v.string(),
  error: v.optional(v.string()),
  iface: v.string(),
  ifaceIpaddress: v.optional(v.string()),
  ifaceNetdev: v.optional(v.string()),
  initiatorName: v.string(),
  isid: v.string(),
  tsih: v.number(),
  since: v.string(),
  negotiated,
  stats: v.record(v.string(), v.number()),
  luns: v.array(lun),
  history: v.array(recoveryEvent),
  connections: v.array(connectionView),
  paths: v.optional(v.array(sessionPathView)),
});
export const discoveryView = v.strictObject({
  portal,
  type: discoveryType,
  settings,
  secrets: secretsFlags,
  lastDiscovered: v.optional(v.string()),
  targets: v.optional(v.number()),
});
export const loginResult = v.strictObject({
  target: v.string(),
  portal,
  ok: v.boolean(),
  sid: v.optional(v.number()),
  attempts: v.number(),
  error: v.optional(opError),
});
export const logoutResult = v.strictObject({
  sid: v.number(),
  target: v.string(),
  portal,
  ok: v.boolean(),
  error: v.optional(opError),
});
export const pending = v.strictObject({
  key: v.string(),
  label: v.string(),
  state: v.picklist(["trying", "waiting", "gave-up"]),
  attempts: v.number(),
  lastError: v.optional(opError),
  nextAttemptAt: v.optional(v.string()),
});
/** Damaged state files the daemon set aside (renamed beside where they were); present when there are any. */
export const quarantined = v.optional(
  v.array(v.strictObject({ path: v.string(), original: v.string(), since: v.string() })),
);
export const status = v.strictObject({
  version: v.string(),
  pid: v.number(),
  startedAt: v.string(),
  stateDir: v.string(),
  configPath: v.string(),
  initiatorName: v.string(),
  nodes: v.number(),
  automaticNodes: v.number(),
  sessions: v.number(),
  startup: v.array(pending),
  quarantined,
});
export const discoverResult = v.strictObject({
  portal,
  targets: v.array(
    v.strictObject({
      name: v.string(),
      portals: v.array(v.strictObject({ host: v.string(), port: v.number(), tpgt: v.number() })),
    }),
  ),
  nodes: v.strictObject({
    created: v.number(),
    updated: v.number(),
    unchanged: v.number(),
    quarantined: v.optional(v.number()),
  }),
  logins: v.optional(v.array(loginResult)),
});
export const attachmentView = v.strictObject({
  id: v.number(),
  target: v.string(),
  portal,
  lun: v.number(),
  sid: v.number(),
  /** The multipath device it sits on. */
  mpath: v.string(),
  backend: v.picklist(["fuse-loop", "fuse-hdiutil", "driverkit", "nfs"]),
  state: v.picklist(["attached", "recovering", "detaching", "failed", "restoring"]),
  file: v.string(),
  device: v.optional(v.string()),
  mountPoint: v.optional(v.string()),
  /** The mounted filesystem's size and free space (statfs of the mount point), when mounted. */
  fs: v.optional(v.strictObject({ sizeBytes: v.string(), freeBytes: v.string() })),
  readOnly: v.boolean(),
  sizeBytes: v.string(),
  blockSize: v.number(),
  since: v.string(),
  stats: v.strictObject({
    reads: v.number(),
    writes: v.number(),
    flushes: v.number(),
    trims: v.number(),
    bytesRead: v.number(),
    bytesWritten: v.number(),
    errors: v.number(),
  }),
  /** `--via nfs`: the export (a libnfs URL among it) and what its NFS clients asked. */
  export: v.optional(v.strictObject({ path: v.string(), file: v.string(), port: v.number(), url: v.string() })),
  nfs: v.optional(
    v.strictObject({
      reads: v.number(),
      writes: v.number(),
      commits: v.number(),
      jukebox: v.number(),
      bytesRead: v.number(),
      bytesWritten: v.number(),
      errors: v.number(),
    }),
  ),
});
/** What the daemon did about a system event (will-sleep, did-wake, network-changed). */
export const reactionReport = v.strictObject({
  event: v.picklist(["will-sleep", "did-wake", "network-changed"]),
  /** Per session: what its probe found (alive, dropped, retrying, idle, probing) or, for sleep, "paused". */
  sessions: v.array(v.strictObject({ id: v.number(), outcome: v.string() })),
  /** Attached LUNs whose cache was synchronized (will-sleep). */
  flushed: v.number(),
  /** Problems met on the way (a flush that failed, ...). */
  problems: v.array(v.string()),
});
export const uiInfo = v.strictObject({
  enabled: v.boolean(),
  url: v.optional(v.string()),
  port: v.optional(v.number()),
  problem: v.optional(v.string()),
});
export const logEntry = v.strictObject({
  seq: v.number(),
  time: v.string(),
  level: v.number(),
  type: v.string(),
  tag: v.string(),
  message: v.string(),
});
export const configView = v.strictObject({
  path: v.string(),
  nodeDefaults: settings,
  inFile: v.array(v.string()),
  ui: v.strictObject({ enabled: v.boolean(), port: v.number() }),
});

export type OpError = v.InferOutput<typeof opError>;
/** Secrets are reduced to whether each is stored; never the secret. */
export type SecretFlags = v.InferOutput<typeof secretsFlags>;
/** A node: `userSet` names the settings the user changed, kept across rediscovery. */
export type NodeView = v.InferOutput<typeof nodeView>;
export type LunInfo = v.InferOutput<typeof lun>;
/** The parameters a session negotiated (RFC 7143 §13). */
export type NegotiatedView = v.InferOutput<typeof negotiated>;
/** A session: `portal` is where it is connected (after redirects), `persistentPortal` the node's; `history` lists its reconnects, newest last. */
export type SessionView = v.InferOutput<typeof sessionView>;
export type PathView = v.InferOutput<typeof pathView>;
export type DeviceView = v.InferOutput<typeof deviceView>;
export type SessionPathView = v.InferOutput<typeof sessionPathView>;
export type ConnectionView = v.InferOutput<typeof connectionView>;
export type DiscoveryView = v.InferOutput<typeof discoveryView>;
export type LoginResult = v.InferOutput<typeof loginResult>;
export type LogoutResult = v.InferOutput<typeof logoutResult>;
export type PendingLogin = v.InferOutput<typeof pending>;
export type StatusView = v.InferOutput<typeof status>;
export type DiscoverResult = v.InferOutput<typeof discoverResult>;
export type AttachmentView = v.InferOutput<typeof attachmentView>;
export type AttachBackend = AttachmentView["backend"];
export type AttachState = AttachmentView["state"];
/** The dashboard: `url` carries the token (or a single-use login code); `problem` says why it is not running. */
export type UiInfo = v.InferOutput<typeof uiInfo>;
export type ReactionReport = v.InferOutput<typeof reactionReport>;
/** One kept log line; `seq` increases by one per entry, so a reader asks only for what it has not seen. */
export type LogEntry = v.InferOutput<typeof logEntry>;
/** The configuration: `inFile` names the keys the config file sets (the rest are built-in defaults). */
export type ConfigView = v.InferOutput<typeof configView>;
