// Node and discovery records as iscsiadm manages them: -m discovery (SendTargets merged into the node
// database), -m node -o new|delete|update|show, -m discoverydb, and secrets set apart from every record.
import { iscsiNameProblem } from "../pdu/iscsi-name.ts";
import {
  isSettingName,
  parseSetting,
  READ_ONLY_SETTINGS,
  SECRET_SETTINGS,
  type SecretName,
} from "../config/node-settings.ts";
import { secretProblem } from "../config/secrets.ts";
import { IscsiError } from "../contract/errors.ts";
import type { DiscoveryType } from "./discovery-db.ts";
import { sendTargets } from "./engine.ts";
import { recordIsnsTargets } from "./isns-watch.ts";
import { discoveryAuth, discoverySecretKey, nodeSecretKey } from "./login-params.ts";
import { nodeKey, type NodeFilter, type NodeRecord } from "./node-db.ts";
import type { Portal } from "../transport/portal.ts";
import { describeFilter, loginNodes } from "./session-ops.ts";
import type { DaemonState } from "./state.ts";
import { discoveryView, nodeView } from "./views.ts";
import type { DiscoverResult, DiscoveryView, NodeView } from "../contract/views.ts";

/**
 * SendTargets at `portal` (or a query of the iSNS server at `portal`), every (target, portal) pair merged into the
 * node database (unless `record` is off: the dashboard lists first and saves the nodes the user picks); optionally
 * log them in.
 */
export async function discover(
  d: DaemonState,
  portal: Portal,
  opts: { login: boolean; record: boolean; type?: DiscoveryType },
): Promise<DiscoverResult> {
  if (opts.type === "isns") return discoverIsns(d, portal, opts);
  const drec = d.discoveries.ensure(portal);
  const auth = await discoveryAuth(drec, d.secrets);
  const found = await sendTargets(
    portal,
    d.initiatorName(),
    auth,
    drec.settings["discovery.sendtargets.timeo.login_timeout"] * 1000,
  );
  d.discoveries.noteDiscovered(drec, found.length);
  const counts = { created: 0, updated: 0, unchanged: 0, quarantined: 0 };
  const touched: NodeRecord[] = [];
  for (const t of opts.record ? found : []) {
    for (const p of t.portals) {
      const tpgt = p.portalGroupTag ?? 1;
      const outcome = d.nodes.mergeDiscovered(t.name, { host: p.host, port: p.port }, tpgt, d.config.nodeDefaults, {
        host: portal.host,
        port: portal.port,
        type: "sendtargets",
      });
      counts[outcome]++;
      if (outcome === "quarantined")
        d.log.warn(
          `discovery: the record of ${t.name} at ${p.host}:${p.port} is set aside as damaged; not recreated with defaults (see iscsi doctor)`,
        );
      else touched.push(d.nodes.get(nodeKey(t.name, p))!);
    }
  }
  const { quarantined, ...kept } = counts;
  d.log.info(
    `discovery at ${portal.host}:${portal.port}: ${found.length} target(s)${opts.record ? `; nodes ${counts.created} new, ${counts.updated} updated, ${counts.unchanged} unchanged${quarantined ? `, ${quarantined} set aside as damaged` : ""}` : ""}`,
  );
  const result: DiscoverResult = {
    portal,
    targets: found.map((t) => ({
      name: t.name,
      portals: t.portals.map((p) => ({ host: p.host, port: p.port, tpgt: p.portalGroupTag ?? 1 })),
    })),
    nodes: quarantined ? counts : kept,
  };
  if (opts.login) result.logins = await loginAll(d, touched);
  return result;
}

const loginAll = (d: DaemonState, records: NodeRecord[]) =>
  Promise.all(records.map((r) => loginNodes(d, { target: r.target, portal: r.portal }).then((x) => x[0]!)));

/** iSNS: the server's answer for our node (its discovery domains applied), recorded like SendTargets'. */
async function discoverIsns(
  d: DaemonState,
  server: Portal,
  opts: { login: boolean; record: boolean },
): Promise<DiscoverResult> {
  const drec = d.discoveries.ensureIsns(server, d.config.isnsDefaults);
  const found = await d.isns.discover(drec);
  d.discoveries.noteDiscovered(drec, found.length);
  const { counts, touched } = opts.record
    ? recordIsnsTargets(d, server, found)
    : { counts: { created: 0, updated: 0, unchanged: 0, quarantined: 0 }, touched: [] };
  d.log.info(`iSNS discovery at ${server.host}:${server.port}: ${found.length} target(s)`);
  const result: DiscoverResult = {
    portal: server,
    targets: found.map((t) => ({
      name: t.name,
      portals: t.portals.map((p) => ({ host: p.host, port: p.port, tpgt: p.portalGroupTag ?? 1 })),
    })),
    nodes: {
      created: counts.created,
      updated: counts.updated,
      unchanged: counts.unchanged,
      ...(counts.quarantined ? { quarantined: counts.quarantined } : {}),
    },
  };
  if (opts.login) result.logins = await loginAll(d, touched);
  return result;
}

async function secretFlags(
  d: DaemonState,
  key: (n: SecretName) => string,
): Promise<{ password: boolean; password_in: boolean }> {
  return {
    password: (await d.secrets.get(key("password"))) !== undefined,
    password_in: (await d.secrets.get(key("password_in"))) !== undefined,
  };
}

export async function listNodes(d: DaemonState, filter: NodeFilter): Promise<NodeView[]> {
  return Promise.all(
    d.nodes.list(filter).map(async (r) => {
      const live = d.registry.byKey(nodeKey(r.target, r.portal));
      return nodeView(
        r,
        await secretFlags(d, (n) => nodeSecretKey(r.target, r.portal, n)),
        live && d.registry.active(live.key) ? live.sid : undefined,
      );
    }),
  );
}

function recordsOrFail(d: DaemonState, filter: NodeFilter): NodeRecord[] {
  const records = d.nodes.list(filter);
  if (records.length === 0) throw new IscsiError("NOT_FOUND", `no node records found${describeFilter(filter)}`);
  return records;
}

/** A node record made by hand, or from a discovery result the user picked (`discovery`: where it was found). */
export async function newNode(
  d: DaemonState,
  target: string,
  portal: Portal,
  tpgt: number,
  discovery?: Portal,
  discoveryType: DiscoveryType = "sendtargets",
): Promise<NodeView> {
  const problem = iscsiNameProblem(target);
  if (problem) throw new IscsiError("INVALID_ARGUMENT", `invalid target name: ${problem}`);
  const { record } = d.nodes.create(
    target,
    portal,
    tpgt,
    d.config.nodeDefaults,
    discovery && { ...discovery, type: discoveryType },
  );
  return (await listNodes(d, { target, portal: record.portal }))[0]!;
}

export async function deleteNodes(d: DaemonState, filter: NodeFilter): Promise<number> {
  const records = recordsOrFail(d, filter);
  const busy = records.filter((r) => d.registry.active(nodeKey(r.target, r.portal)));
  if (busy.length > 0)
    throw new IscsiError(
      "SESSION_EXISTS",
      `${busy[0]!.target} at ${busy[0]!.portal.host}:${busy[0]!.portal.port} is logged in; log out first`,
    );
  for (const r of records) {
    d.startup.cancel(nodeKey(r.target, r.portal));
    for (const n of ["password", "password_in"] as const) await d.secrets.delete(nodeSecretKey(r.target, r.portal, n));
    d.nodes.delete(r);
  }
  return records.length;
}

export function updateNodes(d: DaemonState, filter: NodeFilter, name: string, text: string): number {
  if (Object.hasOwn(SECRET_SETTINGS, name)) {
    throw new IscsiError(
      "INVALID_ARGUMENT",
      `${name} is a secret and is not taken as a value; use \`iscsi secret set\` (reads stdin or --file)`,
    );
  }
  if ((READ_ONLY_SETTINGS as readonly string[]).includes(name))
    throw new IscsiError(
      "INVALID_ARGUMENT",
      `${name} cannot be changed; delete the record and create it anew (-o delete, -o new)`,
    );
  if (!isSettingName(name)) throw new IscsiError("INVALID_ARGUMENT", `unknown node setting ${name}`);
  const parsed = parseSetting(name, text);
  if ("problem" in parsed) throw new IscsiError("INVALID_ARGUMENT", `${name} ${parsed.problem}`);
  const records = recordsOrFail(d, filter);
  for (const r of records) d.nodes.update(r, name, parsed.value);
  return records.length;
}

export interface SecretRequest {
  scope: "node" | "discovery";
  target?: string;
  portal: { host: string; port?: number };
  name: SecretName;
}

function secretKeys(d: DaemonState, req: SecretRequest): Array<(n: SecretName) => string> {
  if (req.scope === "discovery") {
    const rec = d.discoveries
      .list()
      .find(
        (r) =>
          r.portal.host === req.portal.host && (req.portal.port === undefined || r.portal.port === req.portal.port),
      );
    if (!rec)
      throw new IscsiError(
        "NOT_FOUND",
        `no discovery record for ${req.portal.host}${req.portal.port ? `:${req.portal.port}` : ""}`,
      );
    return [(n) => discoverySecretKey(rec.portal, n)];
  }
  return recordsOrFail(d, { target: req.target, portal: req.portal }).map(
    (r) => (n: SecretName) => nodeSecretKey(r.target, r.portal, n),
  );
}

/** Stores a CHAP secret; the two directions must differ (RFC 7143 §9.2.1). Never logs the value. */
export async function setSecret(d: DaemonState, req: SecretRequest, value: string): Promise<number> {
  const problem = secretProblem(value);
  if (problem) throw new IscsiError("INVALID_ARGUMENT", problem);
  const keys = secretKeys(d, req);
  const other: SecretName = req.name === "password" ? "password_in" : "password";
  for (const key of keys) {
    if ((await d.secrets.get(key(other))) === value)
      throw new IscsiError("INVALID_ARGUMENT", "the initiator and target CHAP secrets must differ (RFC 7143 §9.2.1)");
  }
  for (const key of keys) await d.secrets.set(key(req.name), value);
  d.log.info(`${req.scope} secret ${req.name} stored for ${keys.length} record(s)`);
  return keys.length;
}

export async function clearSecret(d: DaemonState, req: SecretRequest): Promise<number> {
  const keys = secretKeys(d, req);
  for (const key of keys) await d.secrets.delete(key(req.name));
  return keys.length;
}

export async function listDiscovery(
  d: DaemonState,
  portal?: { host: string; port?: number },
): Promise<DiscoveryView[]> {
  const records = d.discoveries
    .list()
    .filter(
      (r) => !portal || (r.portal.host === portal.host && (portal.port === undefined || r.portal.port === portal.port)),
    );
  return Promise.all(
    records.map(async (r) => discoveryView(r, await secretFlags(d, (n) => discoverySecretKey(r.portal, n)))),
  );
}

export async function newDiscovery(
  d: DaemonState,
  portal: Portal,
  type: DiscoveryType = "sendtargets",
): Promise<DiscoveryView> {
  if (type === "isns") d.discoveries.ensureIsns(portal, d.config.isnsDefaults);
  else d.discoveries.ensure(portal);
  return (await listDiscovery(d, portal))[0]!;
}

export async function updateDiscovery(
  d: DaemonState,
  portal: Portal,
  name: string,
  text: string,
): Promise<DiscoveryView> {
  if (/\.password(_in)?$/.test(name))
    throw new IscsiError(
      "INVALID_ARGUMENT",
      `${name} is a secret and is not taken as a value; use \`iscsi secret set --discovery\` (reads stdin or --file)`,
    );
  const rec = d.discoveries.get(portal);
  if (!rec) throw new IscsiError("NOT_FOUND", `no discovery record for ${portal.host}:${portal.port}`);
  const next = d.discoveries.update(rec, name, text);
  // A changed iSNS record takes effect at once: the watch stops (deregistering) and restarts if still wanted.
  if (next.type === "isns") {
    await d.isns.stop(portal);
    if (next.settings["discovery.isns.use_discoveryd"] === "Yes" && rec.lastDiscovered)
      await d.isns.discover(next).then((found) => recordIsnsTargets(d, portal, found));
  }
  return (await listDiscovery(d, portal))[0]!;
}

export async function deleteDiscovery(d: DaemonState, portal: Portal): Promise<number> {
  const rec = d.discoveries.get(portal);
  if (!rec) throw new IscsiError("NOT_FOUND", `no discovery record for ${portal.host}:${portal.port}`);
  for (const n of ["password", "password_in"] as const) await d.secrets.delete(discoverySecretKey(portal, n));
  if (rec.type === "isns") await d.isns.stop(portal);
  d.discoveries.delete(rec);
  return 1;
}
