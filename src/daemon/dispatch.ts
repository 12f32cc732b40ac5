// The dispatch table: one entry per op of the protocol, each a call into the daemon's operations.
import { attachLun } from "./attach-ops.ts";
import { detachLuns, listAttachments } from "./attachments.ts";
import type { Daemon } from "./daemon.ts";
import {
  clearSecret,
  deleteDiscovery,
  deleteNodes,
  discover,
  listDiscovery,
  listNodes,
  newDiscovery,
  newNode,
  setSecret,
  updateDiscovery,
  updateNodes,
} from "./node-ops.ts";
import { setConfig, setInitiatorName, showConfig } from "./prefs-ops.ts";
import { listPaths, listSessions, loginNodes, logoutSessions, rescanSessions } from "./session-ops.ts";
import { setAsideView } from "./views.ts";
import { recentLog } from "../log.ts";
import { VERSION } from "../version.ts";
import type { Op, RequestOf, ResultOf } from "../contract/protocol.ts";

type Handlers = { [K in Op]: (req: RequestOf<K>) => Promise<ResultOf<K>> | ResultOf<K> };

export function dispatcher(d: Daemon): Handlers {
  const filter = (r: { target?: string; portal?: { host: string; port?: number } }) => ({
    target: r.target,
    portal: r.portal,
  });
  return {
    ping: () => ({ version: VERSION, pid: process.pid }),
    status: () => d.status(),
    discover: (r) => discover(d, r.portal, { login: r.login ?? false, record: r.record ?? true, type: r.type }),
    "nodes.list": async (r) => ({ nodes: await listNodes(d, filter(r)), ...setAsideView(d.stateDir) }),
    "node.new": async (r) => ({
      node: await newNode(d, r.target, r.portal, r.tpgt ?? 1, r.discovery, r.discoveryType),
    }),
    "node.delete": async (r) => ({ count: await deleteNodes(d, filter(r)) }),
    "node.update": (r) => ({ count: updateNodes(d, filter(r), r.name, r.value) }),
    "secret.set": async (r) => ({
      count: await setSecret(d, { scope: r.scope, target: r.target, portal: r.portal, name: r.name }, r.value),
    }),
    "secret.clear": async (r) => ({
      count: await clearSecret(d, { scope: r.scope, target: r.target, portal: r.portal, name: r.name }),
    }),
    login: async (r) => ({ results: await loginNodes(d, { ...filter(r), which: r.which }) }),
    logout: async (r) => ({ results: await logoutSessions(d, { ...filter(r), sid: r.sid, all: r.all }) }),
    "sessions.list": (r) => ({ sessions: listSessions(d, r.sid) }),
    "sessions.rescan": async (r) => ({ sessions: await rescanSessions(d, r.sid) }),
    "discoverydb.list": async (r) => ({ records: await listDiscovery(d, r.portal), ...setAsideView(d.stateDir) }),
    "discoverydb.new": async (r) => ({ record: await newDiscovery(d, r.portal, r.type) }),
    "discoverydb.delete": async (r) => ({ count: await deleteDiscovery(d, r.portal) }),
    "discoverydb.update": async (r) => ({ record: await updateDiscovery(d, r.portal, r.name, r.value) }),
    "attach.add": (r) =>
      attachLun(d, {
        target: r.target,
        portal: r.portal,
        lun: r.lun,
        mount: r.mount,
        readOnly: r.readOnly,
        via: r.via,
      }),
    "attach.remove": async (r) => ({
      detached: await detachLuns(d, {
        id: r.attachment,
        device: r.device,
        mount: r.mount,
        target: r.target,
        lun: r.lun,
        force: r.force,
      }),
    }),
    "attach.list": () => listAttachments(d),
    "paths.list": (r) => ({ devices: listPaths(d, r.device) }),
    "ui.info": (r) => d.uiInfo(r.once ?? false),
    "log.recent": (r) => ({ entries: recentLog(r.after, r.limit) }),
    "config.show": () => showConfig(d),
    "config.set": (r) => setConfig(d, r.name, r.value),
    "initiator-name.set": (r) => setInitiatorName(d, r.name),
    "system.event": (r) =>
      d.reactions.handle(
        r.event === "network-changed" ? { kind: r.event, detail: "injected over IPC" } : { kind: r.event },
      ),
  };
}
