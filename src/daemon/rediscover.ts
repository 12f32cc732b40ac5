// Finding a target again after its address changed: other node records of the same target name, then a
// SendTargets on each discovery record (the node's own first), each bounded in time. The session asks for
// this only when its known portals fail (src/session/reconnect.ts); nothing is written to the databases.
import { sendTargets, type EnginePortal } from "./engine.ts";
import { discoveryAuth } from "./login-params.ts";
import type { NodeRecord } from "./node-db.ts";
import type { DaemonState } from "./state.ts";

/** One SendTargets exchange while looking for a lost target; a silent discovery portal must not hold recovery long. */
const REDISCOVER_TIMEOUT_MS = 5_000;

export async function alternatePortals(d: DaemonState, record: NodeRecord): Promise<EnginePortal[]> {
  const out: EnginePortal[] = [];
  const add = (p: EnginePortal) => {
    if (
      !out.some((q) => q.host === p.host && q.port === p.port) &&
      !(p.host === record.portal.host && p.port === record.portal.port)
    )
      out.push({ host: p.host, port: p.port });
  };
  for (const other of d.nodes.list({ target: record.target })) add(other.portal);
  const own = record.discovery;
  const records = d.discoveries.list().sort((a, b) => Number(isOwn(b.portal)) - Number(isOwn(a.portal)));
  function isOwn(p: EnginePortal): boolean {
    return own !== undefined && p.host === own.host && p.port === own.port;
  }
  for (const drec of records) {
    if (drec.type !== "sendtargets") continue; // iSNS records: the iSNS watch keeps their nodes current
    try {
      const auth = await discoveryAuth(drec, d.secrets);
      const found = await sendTargets(
        drec.portal,
        d.initiatorName(),
        auth,
        Math.min(REDISCOVER_TIMEOUT_MS, drec.settings["discovery.sendtargets.timeo.login_timeout"] * 1000),
      );
      for (const t of found) if (t.name === record.target) for (const p of t.portals) add(p);
    } catch (err) {
      d.log.debug(
        `looking for ${record.target} at discovery portal ${drec.portal.host}:${drec.portal.port}: ${(err as Error).message}`,
      );
    }
  }
  return out;
}
