// The CLI↔daemon contract (design.md §5): one JSON object per line; every request and every response is
// checked against these valibot schemas on both ends. Requests carry `op`; responses `ok` and a result or an
// error whose `code` comes from the shared catalogue (src/errors.ts).
import * as v from "valibot";
import { ERROR_CATALOGUE, type ErrorCode } from "../errors.ts";
import type { AttachmentView } from "../daemon/attachments.ts";
import type { DiscoverResult } from "../daemon/node-ops.ts";
import type { LoginResult, LogoutResult } from "../daemon/session-ops.ts";
import type { StatusView } from "../daemon/daemon.ts";
import type { DiscoveryView, NodeView, SessionView } from "../daemon/views.ts";
import type { ConfigView } from "../daemon/prefs-ops.ts";
import type { UiInfo } from "../daemon/ui/state.ts";
import type { LogEntry } from "../log.ts";

/** Longest request or response line; a session list of many sessions fits, a flood does not. */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;
export const MAX_REQUEST_BYTES = 64 * 1024;

const int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
const host = v.pipe(v.string(), v.minLength(1, "must not be empty"), v.maxLength(255, "must be at most 255 characters"), v.regex(/^[^\s/\x00-\x1f\x7f]+$/, "must be a host name or address"));
const portal = v.strictObject({ host, port: int(1, 65535) });
const portalFilter = v.strictObject({ host, port: v.optional(int(1, 65535)) });
const target = v.pipe(v.string(), v.minLength(1, "must not be empty"), v.maxLength(223, "must be at most 223 bytes"), v.regex(/^[^\s\x00-\x1f\x7f]+$/, "must not contain spaces or control characters"));
const id = v.optional(int(0, Number.MAX_SAFE_INTEGER));
const settingName = v.pipe(v.string(), v.minLength(1), v.maxLength(128));
const settingValue = v.pipe(v.string(), v.maxLength(1024, "must be at most 1024 characters"));
const secretValue = v.pipe(v.string("must be a string"), v.maxLength(1024, "must be at most 1024 characters"));
const scope = v.picklist(["node", "discovery"]);
const lunNumber = int(0, 16383);
const absolutePath = v.pipe(v.string(), v.minLength(1, "must not be empty"), v.maxLength(4096, "must be at most 4096 characters"), v.regex(/^\/[^\x00-\x1f\x7f]*$/, "must be an absolute path"));
const devicePath = v.pipe(v.string(), v.maxLength(255, "must be at most 255 characters"), v.regex(/^\/dev\/[\w./-]+$/, "must be a device path under /dev"));
const secretName = v.picklist(["password", "password_in"]);

const req = <T extends string, E extends v.ObjectEntries>(op: T, entries: E) => v.strictObject({ id, op: v.literal(op), ...entries });

export const REQUESTS = {
  ping: req("ping", {}),
  status: req("status", {}),
  discover: req("discover", { portal, login: v.optional(v.boolean()), record: v.optional(v.boolean()) }),
  "nodes.list": req("nodes.list", { target: v.optional(target), portal: v.optional(portalFilter) }),
  "node.new": req("node.new", { target, portal, tpgt: v.optional(int(0, 65535)), discovery: v.optional(portal) }),
  "node.delete": req("node.delete", { target: v.optional(target), portal: v.optional(portalFilter) }),
  "node.update": req("node.update", { target: v.optional(target), portal: v.optional(portalFilter), name: settingName, value: settingValue }),
  "secret.set": req("secret.set", { scope, target: v.optional(target), portal: portalFilter, name: secretName, value: secretValue }),
  "secret.clear": req("secret.clear", { scope, target: v.optional(target), portal: portalFilter, name: secretName }),
  login: req("login", { target: v.optional(target), portal: v.optional(portalFilter), which: v.optional(v.picklist(["all", "automatic", "manual", "onboot"])) }),
  logout: req("logout", { target: v.optional(target), portal: v.optional(portalFilter), sid: v.optional(int(1, 2 ** 31)), all: v.optional(v.boolean()) }),
  "sessions.list": req("sessions.list", { sid: v.optional(int(1, 2 ** 31)) }),
  "sessions.rescan": req("sessions.rescan", { sid: v.optional(int(1, 2 ** 31)) }),
  "discoverydb.list": req("discoverydb.list", { portal: v.optional(portalFilter) }),
  "discoverydb.new": req("discoverydb.new", { portal }),
  "discoverydb.delete": req("discoverydb.delete", { portal }),
  "discoverydb.update": req("discoverydb.update", { portal, name: settingName, value: settingValue }),
  "attach.add": req("attach.add", { target, portal: v.optional(portalFilter), lun: lunNumber, mount: v.optional(absolutePath), readOnly: v.optional(v.boolean()), via: v.optional(v.picklist(["fuse", "nfs"])) }),
  // `id` names the attachment here; it takes the place of the envelope's correlation id (one request per connection).
  "attach.remove": req("attach.remove", { attachment: v.optional(int(1, Number.MAX_SAFE_INTEGER)), device: v.optional(devicePath), mount: v.optional(absolutePath), target: v.optional(target), lun: v.optional(lunNumber), force: v.optional(v.boolean()) }),
  "attach.list": req("attach.list", {}),
  "ui.info": req("ui.info", { once: v.optional(v.boolean()) }),
  "log.recent": req("log.recent", { after: v.optional(int(0, Number.MAX_SAFE_INTEGER)), limit: v.optional(int(1, 1000)) }),
  "config.show": req("config.show", {}),
  "config.set": req("config.set", { name: settingName, value: v.optional(settingValue) }),
  "initiator-name.set": req("initiator-name.set", { name: target }),
} as const;

export type Op = keyof typeof REQUESTS;
export type Request = { [K in Op]: v.InferOutput<(typeof REQUESTS)[K]> }[Op];
export type RequestOf<K extends Op> = v.InferOutput<(typeof REQUESTS)[K]>;

const opError = v.strictObject({ code: v.string(), message: v.string() });
const secretsFlags = v.strictObject({ password: v.boolean(), password_in: v.boolean() });
const settings = v.record(v.string(), v.union([v.string(), v.number()]));

const nodeView = v.strictObject({
  target: v.string(), portal, tpgt: v.number(), startup: v.string(), settings, secrets: secretsFlags, userSet: v.array(v.string()),
  discovery: v.optional(v.strictObject({ host: v.string(), port: v.number(), type: v.literal("sendtargets") })),
  sid: v.optional(v.number()),
});
const lun = v.strictObject({
  lun: v.number(), deviceType: v.string(), vendor: v.string(), product: v.string(), revision: v.string(),
  blockSize: v.optional(v.number()), bytes: v.optional(v.string()), error: v.optional(v.string()),
});
const digest = v.picklist(["None", "CRC32C"]);
const negotiated = v.strictObject({
  headerDigest: digest, dataDigest: digest, maxRecvDataSegmentLength: v.number(), maxXmitDataSegmentLength: v.number(),
  firstBurstLength: v.number(), maxBurstLength: v.number(), immediateData: v.boolean(), initialR2T: v.boolean(),
  maxOutstandingR2T: v.number(), maxConnections: v.number(), errorRecoveryLevel: v.number(), defaultTime2Wait: v.number(),
  defaultTime2Retain: v.number(), dataPDUInOrder: v.boolean(), dataSequenceInOrder: v.boolean(), authMethod: v.string(),
  chapAlgorithm: v.optional(v.number()), targetAlias: v.optional(v.string()),
});
const recoveryEvent = v.strictObject({ at: v.string(), event: v.string(), detail: v.string() });
const sessionView = v.strictObject({
  sid: v.number(), target: v.string(), portal, persistentPortal: portal, tpgt: v.number(), state: v.string(), error: v.optional(v.string()),
  iface: v.string(), initiatorName: v.string(), isid: v.string(), tsih: v.number(), since: v.string(), negotiated,
  stats: v.record(v.string(), v.number()), luns: v.array(lun), history: v.array(recoveryEvent),
});
const discoveryView = v.strictObject({
  portal, type: v.literal("sendtargets"), settings, secrets: secretsFlags, lastDiscovered: v.optional(v.string()), targets: v.optional(v.number()),
});
const loginResult = v.strictObject({ target: v.string(), portal, ok: v.boolean(), sid: v.optional(v.number()), attempts: v.number(), error: v.optional(opError) });
const logoutResult = v.strictObject({ sid: v.number(), target: v.string(), portal, ok: v.boolean(), error: v.optional(opError) });
const pending = v.strictObject({
  key: v.string(), label: v.string(), state: v.picklist(["trying", "waiting", "gave-up"]), attempts: v.number(),
  lastError: v.optional(opError), nextAttemptAt: v.optional(v.string()),
});
const status = v.strictObject({
  version: v.string(), pid: v.number(), startedAt: v.string(), stateDir: v.string(), configPath: v.string(), initiatorName: v.string(),
  nodes: v.number(), automaticNodes: v.number(), sessions: v.number(), startup: v.array(pending),
});
const discoverResult = v.strictObject({
  portal,
  targets: v.array(v.strictObject({ name: v.string(), portals: v.array(v.strictObject({ host: v.string(), port: v.number(), tpgt: v.number() })) })),
  nodes: v.strictObject({ created: v.number(), updated: v.number(), unchanged: v.number() }),
  logins: v.optional(v.array(loginResult)),
});
const count = v.strictObject({ count: v.number() });
const attachmentView = v.strictObject({
  id: v.number(), target: v.string(), portal, lun: v.number(), sid: v.number(),
  backend: v.picklist(["fuse-loop", "fuse-hdiutil", "driverkit", "nfs"]), state: v.picklist(["attached", "recovering", "detaching", "failed"]),
  file: v.string(), device: v.optional(v.string()), mountPoint: v.optional(v.string()), readOnly: v.boolean(), sizeBytes: v.string(),
  blockSize: v.number(), since: v.string(),
  stats: v.strictObject({ reads: v.number(), writes: v.number(), flushes: v.number(), trims: v.number(), bytesRead: v.number(), bytesWritten: v.number(), errors: v.number() }),
  export: v.optional(v.strictObject({ path: v.string(), file: v.string(), port: v.number(), url: v.string() })),
  nfs: v.optional(v.strictObject({ reads: v.number(), writes: v.number(), commits: v.number(), jukebox: v.number(), bytesRead: v.number(), bytesWritten: v.number(), errors: v.number() })),
});
const uiInfo = v.strictObject({ enabled: v.boolean(), url: v.optional(v.string()), port: v.optional(v.number()), problem: v.optional(v.string()) });
const logEntry = v.strictObject({ seq: v.number(), time: v.string(), level: v.number(), type: v.string(), tag: v.string(), message: v.string() });
const configView = v.strictObject({ path: v.string(), nodeDefaults: settings, inFile: v.array(v.string()), ui: v.strictObject({ enabled: v.boolean(), port: v.number() }) });

export const RESULTS = {
  ping: v.strictObject({ version: v.string(), pid: v.number() }),
  status,
  discover: discoverResult,
  "nodes.list": v.strictObject({ nodes: v.array(nodeView) }),
  "node.new": v.strictObject({ node: nodeView }),
  "node.delete": count,
  "node.update": count,
  "secret.set": count,
  "secret.clear": count,
  login: v.strictObject({ results: v.array(loginResult) }),
  logout: v.strictObject({ results: v.array(logoutResult) }),
  "sessions.list": v.strictObject({ sessions: v.array(sessionView) }),
  "sessions.rescan": v.strictObject({ sessions: v.array(sessionView) }),
  "discoverydb.list": v.strictObject({ records: v.array(discoveryView) }),
  "discoverydb.new": v.strictObject({ record: discoveryView }),
  "discoverydb.delete": count,
  "discoverydb.update": v.strictObject({ record: discoveryView }),
  "attach.add": attachmentView,
  "attach.remove": v.strictObject({ detached: v.array(attachmentView) }),
  "attach.list": v.array(attachmentView),
  "ui.info": uiInfo,
  "log.recent": v.strictObject({ entries: v.array(logEntry) }),
  "config.show": configView,
  "config.set": configView,
  "initiator-name.set": v.strictObject({ initiatorName: v.string() }),
} as const satisfies Record<Op, v.GenericSchema>;

export type ResultOf<K extends Op> = v.InferOutput<(typeof RESULTS)[K]>;

// The daemon's own types must fit the wire schemas (checked by tsc).
type Fits<A extends B, B> = A;
export type _Checks = [
  Fits<NodeView, v.InferInput<typeof nodeView>>,
  Fits<SessionView, v.InferInput<typeof sessionView>>,
  Fits<DiscoveryView, v.InferInput<typeof discoveryView>>,
  Fits<LoginResult, v.InferInput<typeof loginResult>>,
  Fits<LogoutResult, v.InferInput<typeof logoutResult>>,
  Fits<StatusView, v.InferInput<typeof status>>,
  Fits<DiscoverResult, v.InferInput<typeof discoverResult>>,
  Fits<AttachmentView, v.InferInput<typeof attachmentView>>,
  Fits<UiInfo, v.InferInput<typeof uiInfo>>,
  Fits<LogEntry, v.InferInput<typeof logEntry>>,
  Fits<ConfigView, v.InferInput<typeof configView>>,
];

const errorCode = v.picklist(Object.keys(ERROR_CATALOGUE) as ErrorCode[]);
export const responseEnvelope = v.variant("ok", [
  v.strictObject({ id, ok: v.literal(true), result: v.unknown() }),
  v.strictObject({ id, ok: v.literal(false), error: v.strictObject({ code: errorCode, message: v.string() }) }),
]);
export type Response = v.InferOutput<typeof responseEnvelope>;

/** Valibot issues in words: "portal.port: must be ..." — never the offending value of a secret field. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .slice(0, 3)
    .map((i) => {
      const path = i.path?.map((p) => String(p.key)).join(".");
      const secret = i.path?.some((p) => p.key === "value");
      const message = secret ? (i.expected ? `expected ${i.expected}` : "is invalid") : i.message;
      return path ? `${path}: ${message}` : message;
    })
    .join("; ");
}

/** Parses one request line: JSON, a known op, then that op's schema. Errors name the field at fault. */
export function parseRequest(line: string): { ok: true; request: Request } | { ok: false; id?: number; message: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, message: "request is not valid JSON" };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { ok: false, message: "request must be a JSON object" };
  const rid = (raw as { id?: unknown }).id;
  const idOf = typeof rid === "number" && Number.isSafeInteger(rid) ? { id: rid } : {};
  const op = (raw as { op?: unknown }).op;
  if (typeof op !== "string") return { ok: false, ...idOf, message: 'request has no "op" string' };
  if (!Object.hasOwn(REQUESTS, op)) return { ok: false, ...idOf, message: `unknown op ${JSON.stringify(op.slice(0, 64))}; known: ${Object.keys(REQUESTS).join(", ")}` };
  const r = v.safeParse(REQUESTS[op as Op], raw);
  if (!r.success) return { ok: false, ...idOf, message: `invalid ${op} request: ${describeIssues(r.issues)}` };
  return { ok: true, request: r.output as Request };
}
