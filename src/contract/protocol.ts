// The CLI↔daemon contract (docs/architecture.md, "The control socket"): one JSON object per line; every request
// and every response is checked against these valibot schemas on both ends. Requests carry `op`; responses `ok`
// and a result (src/contract/views.ts) or an error whose `code` comes from the catalogue (src/contract/errors.ts).
import * as v from "valibot";
import { ERROR_CATALOGUE, type ErrorCode } from "./errors.ts";
import * as view from "./views.ts";
import { host, int, portal } from "./views.ts";

/** Longest request or response line; a session list of many sessions fits, a flood does not. */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;
export const MAX_REQUEST_BYTES = 64 * 1024;

const portalFilter = v.strictObject({ host, port: v.optional(int(1, 65535)) });
const target = v.pipe(
  v.string(),
  v.minLength(1, "must not be empty"),
  v.maxLength(223, "must be at most 223 bytes"),
  v.regex(/^[^\s\x00-\x1f\x7f]+$/, "must not contain spaces or control characters"),
);
const id = v.optional(int(0, Number.MAX_SAFE_INTEGER));
const settingName = v.pipe(v.string(), v.minLength(1), v.maxLength(128));
const settingValue = v.pipe(v.string(), v.maxLength(1024, "must be at most 1024 characters"));
const secretValue = v.pipe(v.string("must be a string"), v.maxLength(1024, "must be at most 1024 characters"));
const scope = v.picklist(["node", "discovery"]);
const lunNumber = int(0, 16383);
const absolutePath = v.pipe(
  v.string(),
  v.minLength(1, "must not be empty"),
  v.maxLength(4096, "must be at most 4096 characters"),
  v.regex(/^\/[^\x00-\x1f\x7f]*$/, "must be an absolute path"),
);
const devicePath = v.pipe(
  v.string(),
  v.maxLength(255, "must be at most 255 characters"),
  v.regex(/^\/dev\/[\w./-]+$/, "must be a device path under /dev"),
);
const secretName = v.picklist(["password", "password_in"]);

const req = <T extends string, E extends v.ObjectEntries>(op: T, entries: E) =>
  v.strictObject({ id, op: v.literal(op), ...entries });

export const REQUESTS = {
  ping: req("ping", {}),
  status: req("status", {}),
  discover: req("discover", {
    portal,
    login: v.optional(v.boolean()),
    record: v.optional(v.boolean()),
    type: v.optional(view.discoveryType),
  }),
  "nodes.list": req("nodes.list", { target: v.optional(target), portal: v.optional(portalFilter) }),
  "node.new": req("node.new", {
    target,
    portal,
    tpgt: v.optional(int(0, 65535)),
    discovery: v.optional(portal),
    discoveryType: v.optional(view.discoveryType),
  }),
  "node.delete": req("node.delete", { target: v.optional(target), portal: v.optional(portalFilter) }),
  "node.update": req("node.update", {
    target: v.optional(target),
    portal: v.optional(portalFilter),
    name: settingName,
    value: settingValue,
  }),
  "secret.set": req("secret.set", {
    scope,
    target: v.optional(target),
    portal: portalFilter,
    name: secretName,
    value: secretValue,
  }),
  "secret.clear": req("secret.clear", { scope, target: v.optional(target), portal: portalFilter, name: secretName }),
  login: req("login", {
    target: v.optional(target),
    portal: v.optional(portalFilter),
    which: v.optional(v.picklist(["all", "automatic", "manual", "onboot"])),
  }),
  logout: req("logout", {
    target: v.optional(target),
    portal: v.optional(portalFilter),
    sid: v.optional(int(1, 2 ** 31)),
    all: v.optional(v.boolean()),
  }),
  "sessions.list": req("sessions.list", { sid: v.optional(int(1, 2 ** 31)) }),
  "sessions.rescan": req("sessions.rescan", { sid: v.optional(int(1, 2 ** 31)) }),
  "discoverydb.list": req("discoverydb.list", { portal: v.optional(portalFilter) }),
  "discoverydb.new": req("discoverydb.new", { portal, type: v.optional(view.discoveryType) }),
  "discoverydb.delete": req("discoverydb.delete", { portal }),
  "discoverydb.update": req("discoverydb.update", { portal, name: settingName, value: settingValue }),
  "attach.add": req("attach.add", {
    target,
    portal: v.optional(portalFilter),
    lun: lunNumber,
    mount: v.optional(absolutePath),
    readOnly: v.optional(v.boolean()),
    via: v.optional(v.picklist(["fuse", "nfs"])),
  }),
  // `attachment` is the attachment's number (`iscsi detach ID`); `id` stays the envelope's correlation id.
  "attach.remove": req("attach.remove", {
    attachment: v.optional(int(1, Number.MAX_SAFE_INTEGER)),
    device: v.optional(devicePath),
    mount: v.optional(absolutePath),
    target: v.optional(target),
    lun: v.optional(lunNumber),
    force: v.optional(v.boolean()),
  }),
  "attach.list": req("attach.list", {}),
  "paths.list": req("paths.list", {
    device: v.optional(
      v.pipe(v.string(), v.regex(/^mpath[a-z]+$/, "must be a multipath device name (mpatha, mpathb, …)")),
    ),
  }),
  "ui.info": req("ui.info", { once: v.optional(v.boolean()) }),
  "log.recent": req("log.recent", {
    after: v.optional(int(0, Number.MAX_SAFE_INTEGER)),
    limit: v.optional(int(1, 1000)),
  }),
  "config.show": req("config.show", {}),
  "config.set": req("config.set", { name: settingName, value: v.optional(settingValue) }),
  "initiator-name.set": req("initiator-name.set", { name: target }),
  "system.event": req("system.event", { event: v.picklist(["will-sleep", "did-wake", "network-changed"]) }),
} as const;

export type Op = keyof typeof REQUESTS;
export type Request = { [K in Op]: v.InferOutput<(typeof REQUESTS)[K]> }[Op];
export type RequestOf<K extends Op> = v.InferOutput<(typeof REQUESTS)[K]>;

const count = v.strictObject({ count: v.number() });

export const RESULTS = {
  ping: v.strictObject({ version: v.string(), pid: v.number() }),
  status: view.status,
  discover: view.discoverResult,
  "nodes.list": v.strictObject({ nodes: v.array(view.nodeView), quarantined: view.quarantined }),
  "node.new": v.strictObject({ node: view.nodeView }),
  "node.delete": count,
  "node.update": count,
  "secret.set": count,
  "secret.clear": count,
  login: v.strictObject({ results: v.array(view.loginResult) }),
  logout: v.strictObject({ results: v.array(view.logoutResult) }),
  "sessions.list": v.strictObject({ sessions: v.array(view.sessionView) }),
  "sessions.rescan": v.strictObject({ sessions: v.array(view.sessionView) }),
  "discoverydb.list": v.strictObject({ records: v.array(view.discoveryView), quarantined: view.quarantined }),
  "discoverydb.new": v.strictObject({ record: view.discoveryView }),
  "discoverydb.delete": count,
  "discoverydb.update": v.strictObject({ record: view.discoveryView }),
  "attach.add": view.attachmentView,
  "attach.remove": v.strictObject({ detached: v.array(view.attachmentView) }),
  "attach.list": v.array(view.attachmentView),
  "paths.list": v.strictObject({ devices: v.array(view.deviceView) }),
  "ui.info": view.uiInfo,
  "log.recent": v.strictObject({ entries: v.array(view.logEntry) }),
  "config.show": view.configView,
  "config.set": view.configView,
  "initiator-name.set": v.strictObject({ initiatorName: v.string() }),
  "system.event": view.reactionReport,
} as const satisfies Record<Op, v.GenericSchema>;

export type ResultOf<K extends Op> = v.InferOutput<(typeof RESULTS)[K]>;

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
export function parseRequest(
  line: string,
): { ok: true; request: Request } | { ok: false; id?: number; message: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, message: "request is not valid JSON" };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    return { ok: false, message: "request must be a JSON object" };
  const rid = (raw as { id?: unknown }).id;
  const idOf = typeof rid === "number" && Number.isSafeInteger(rid) ? { id: rid } : {};
  const op = (raw as { op?: unknown }).op;
  if (typeof op !== "string") return { ok: false, ...idOf, message: 'request has no "op" string' };
  if (!Object.hasOwn(REQUESTS, op))
    return {
      ok: false,
      ...idOf,
      message: `unknown op ${JSON.stringify(op.slice(0, 64))}; known: ${Object.keys(REQUESTS).join(", ")}`,
    };
  const r = v.safeParse(REQUESTS[op as Op], raw);
  if (!r.success) return { ok: false, ...idOf, message: `invalid ${op} request: ${describeIssues(r.issues)}` };
  return { ok: true, request: r.output as Request };
}
