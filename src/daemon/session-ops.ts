// Logging nodes in and out and listing sessions: iscsiadm's --login/--logout, -L/-U and -m session.
// Logins of several nodes run in parallel, each with its own retries (node.session.initial_login_retry_max).
import { errorCodeOf, IscsiError } from "../contract/errors.ts";
import { openSession } from "./engine.ts";
import { nodeOpenParams } from "./login-params.ts";
import { alternatePortals } from "./rediscover.ts";
import { matches, nodeKey, type NodeFilter, type NodeRecord } from "./node-db.ts";
import type { SessionEntry } from "./registry.ts";
import { backoffDelay, isRetryable } from "./startup.ts";
import type { DaemonState } from "./state.ts";
import { deviceView, sessionPaths } from "./path-views.ts";
import type { DeviceView } from "../contract/views.ts";
import { sessionView } from "./views.ts";
import type { LoginResult, LogoutResult, OpError, SessionView } from "../contract/views.ts";

const opError = (err: unknown): OpError => ({
  code: errorCodeOf(err),
  message: (err as Error)?.message ?? String(err),
});
const label = (r: NodeRecord) => `${r.target} at ${r.portal.host}:${r.portal.port}`;

/** One login attempt of one node; cancels that node's background loop on success; its LUs become paths of their multipath devices. */
export async function loginOnce(d: DaemonState, record: NodeRecord): Promise<SessionEntry> {
  const key = nodeKey(record.target, record.portal);
  const initiatorName = d.initiatorName();
  const entry = await d.registry.login(
    key,
    {
      target: record.target,
      portal: record.portal,
      tpgt: record.tpgt,
      isid: record.isid,
      initiatorName,
      ...(record.settings["iface.net_ifacename"] ? { netdev: record.settings["iface.net_ifacename"] } : {}),
    },
    async (sid) =>
      openSession(
        {
          ...(await nodeOpenParams(record, d.secrets, initiatorName)),
          alternatePortals: () => alternatePortals(d, record),
        },
        sid,
      ),
  );
  d.startup.cancel(key);
  d.log.info(`session ${entry.sid}: logged in to ${label(record)}`);
  await d.multipath.join(entry, record.settings, (x) => d.attachments.onDevice(x).length > 0);
  d.attachments.noteOtherLu(entry, d.log);
  return entry;
}

/** The single attempt the startup loop makes for `key`. */
export async function startupAttempt(d: DaemonState, key: string): Promise<void> {
  const record = d.nodes.get(key);
  if (!record) throw new IscsiError("NOT_FOUND", "the node record was deleted");
  await loginOnce(d, record);
}

/**
 * What a login the user asked for does not retry, beyond what the background loop gives up on: a target's
 * "initiator error" status (RFC 7143 §11.13.5 class 2: not found, removed, not allowed) and an unusable
 * secrets file or state dir do not change within seconds; retrying only hides them.
 */
const PERMANENT_NOW: ReadonlySet<string> = new Set(["LOGIN_FATAL", "NODE_DB", "ACCESS"]);
const retryNow = (err: unknown) => isRetryable(err) && !PERMANENT_NOW.has(errorCodeOf(err));

async function loginWithRetries(d: DaemonState, record: NodeRecord): Promise<LoginResult> {
  const retries = record.settings["node.session.initial_login_retry_max"];
  const base = { target: record.target, portal: { ...record.portal } };
  for (let attempt = 1; ; attempt++) {
    try {
      const entry = await loginOnce(d, record);
      return { ...base, ok: true, sid: entry.sid, attempts: attempt };
    } catch (err) {
      if (attempt > retries || !retryNow(err)) {
        d.log.warn(`login to ${label(record)} failed after ${attempt} attempt(s): ${(err as Error).message}`);
        return { ...base, ok: false, attempts: attempt, error: opError(err) };
      }
      await Bun.sleep(backoffDelay(attempt, d.config.startup.retryInitialMs, d.config.startup.retryMaxMs));
    }
  }
}

export interface LoginRequest extends NodeFilter {
  /** iscsiadm -L: every node, or those with this node.startup. */
  which?: "all" | "automatic" | "manual" | "onboot";
}

export async function loginNodes(d: DaemonState, req: LoginRequest): Promise<LoginResult[]> {
  let records = d.nodes.list(req);
  if (req.which && req.which !== "all") records = records.filter((r) => r.settings["node.startup"] === req.which);
  if (req.which) {
    // -L skips nodes already logged in, as iscsiadm does.
    records = records.filter((r) => !d.registry.active(nodeKey(r.target, r.portal)));
  } else if (records.length === 0) {
    throw new IscsiError(
      "NOT_FOUND",
      `no node records found${describeFilter(req)}; run discovery first (iscsi -m discovery -t st -p PORTAL)`,
    );
  }
  return Promise.all(records.map((r) => loginWithRetries(d, r)));
}

export interface LogoutRequest extends NodeFilter {
  sid?: number;
  all?: boolean;
}

export async function logoutSessions(d: DaemonState, req: LogoutRequest): Promise<LogoutResult[]> {
  const filter: NodeFilter = { target: req.target, portal: req.portal };
  const entries = d.registry
    .list()
    .filter((e) => (req.sid === undefined || e.sid === req.sid) && (req.all || matches(e, filter)));
  // A logout also ends the background retries of those nodes, so they do not come back by themselves.
  for (const r of d.nodes.list(filter)) if (req.sid === undefined) d.startup.cancel(nodeKey(r.target, r.portal));
  if (entries.length === 0)
    throw new IscsiError(
      "NOT_FOUND",
      `no matching sessions${req.sid !== undefined ? ` (sid ${req.sid})` : describeFilter(filter)}`,
    );
  return Promise.all(
    entries.map(async (e) => {
      const timeout = (d.nodes.get(e.key)?.settings["node.conn[0].timeo.logout_timeout"] ?? 15) * 1000;
      const base = { sid: e.sid, target: e.target, portal: { ...e.portal } };
      const pinned = d.attachments.pinning(e.sid).map((x) => x.attachment);
      if (pinned.length > 0) {
        const what = pinned.map((a) => `LUN ${a.lun} as ${a.device ?? a.file} (attachment ${a.id})`).join(", ");
        const message = `session ${e.sid} has ${what} attached; detach first (iscsi detach ${pinned[0]!.id})`;
        return { ...base, ok: false, error: { code: "BUSY", message } };
      }
      try {
        await d.registry
          .logout(e, timeout)
          .finally(() => d.multipath.leave(e, (x) => d.attachments.onDevice(x).length > 0));
        d.log.info(`session ${e.sid}: logged out of ${e.target}`);
        return { ...base, ok: true };
      } catch (err) {
        return { ...base, ok: false, error: opError(err) };
      }
    }),
  );
}

export function listSessions(d: DaemonState, sid?: number): SessionView[] {
  const entries = d.registry.list().filter((e) => sid === undefined || e.sid === sid);
  if (sid !== undefined && entries.length === 0)
    throw new IscsiError("SESSION_NOT_FOUND", `no session with sid ${sid}`);
  return entries.map((e) => withPaths(d, e));
}

const withPaths = (d: DaemonState, e: SessionEntry): SessionView => ({
  ...sessionView(e),
  paths: sessionPaths(d.multipath.list(), e.sid),
});

export async function rescanSessions(d: DaemonState, sid?: number): Promise<SessionView[]> {
  const entries = d.registry.list().filter((e) => sid === undefined || e.sid === sid);
  if (sid !== undefined && entries.length === 0)
    throw new IscsiError("SESSION_NOT_FOUND", `no session with sid ${sid}`);
  await Promise.all(
    entries.map(async (e) => {
      await d.registry.rescan(e);
      const record = d.nodes.get(e.key);
      if (record) await d.multipath.join(e, record.settings, (x) => d.attachments.onDevice(x).length > 0);
    }),
  );
  return entries.map((e) => withPaths(d, e));
}

export function describeFilter(f: NodeFilter): string {
  const parts = [
    f.target ? `target ${f.target}` : "",
    f.portal ? `portal ${f.portal.host}${f.portal.port ? `:${f.portal.port}` : ""}` : "",
  ].filter(Boolean);
  return parts.length ? ` for ${parts.join(", ")}` : "";
}

/** `iscsi paths`: every multipath device (or the one named) with its paths (docs/multipath.md). */
export function listPaths(d: DaemonState, name?: string): DeviceView[] {
  const devices = d.multipath.list().filter((x) => name === undefined || x.name === name);
  if (name !== undefined && devices.length === 0) throw new IscsiError("NOT_FOUND", `no multipath device ${name}`);
  return devices.map(deviceView);
}
