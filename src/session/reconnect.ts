// Where a reinstatement logs in (RFC 7143 §6.3.5): the session's portal, then the last portal that worked
// if it differs, then portals the caller finds for the target now (its discovery records: SendTargets, other
// node records), so a target whose address changed is found again without a user step. A portal given by
// host name is resolved again for every attempt (an address cached from the first login may be stale).
import { isIP } from "node:net";
import type { Portal } from "../transport/portal.ts";
import { loginParamsFor, openConnection, type OpenedConnection } from "./open.ts";
import type { SessionCore } from "./core.ts";

const samePortal = (a: Portal, b: Portal) => a.host === b.host && a.port === b.port;

/** Every address `host` has now (a literal address as it is); an empty list when it does not resolve. */
export async function resolveNow(host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  try {
    const found = await Bun.dns.lookup(host, { backend: "system" } as { backend: "system" });
    return [...new Set(found.map((a) => a.address))];
  } catch {
    return [];
  }
}

/** Log in again for `s`, trying its portals in order; rejects with the first portal's error when none works. */
export async function reconnect(
  s: Pick<SessionCore, "id" | "log" | "isid" | "options" | "portal" | "window">,
): Promise<OpenedConnection> {
  const params = loginParamsFor(s.options.login, s.isid, s.window.cmdSN);
  const tag = `s${s.id}:c0`;
  const tried: Portal[] = [];
  let firstError: unknown;
  const tryPortal = async (p: Portal): Promise<OpenedConnection | undefined> => {
    if (tried.some((t) => samePortal(t, p))) return undefined;
    tried.push(p);
    // An injected connect (tests, other pipes) names its own peers; a name that does not resolve now is still
    // handed to connect, which reports the failure in its own words.
    const resolved = s.options.connect ? [] : await resolveNow(p.host);
    const addresses = resolved.length > 0 ? resolved : [p.host];
    for (const host of addresses) {
      try {
        const opened = await openConnection({ host, port: p.port }, params, tag, s.options);
        if (host !== p.host) s.log.info(`${p.host} resolved to ${host} for this login`);
        return opened;
      } catch (err) {
        firstError ??= err;
      }
    }
    return undefined;
  };
  for (const p of [s.options.portal, s.portal]) {
    const opened = await tryPortal(p);
    if (opened) return opened;
  }
  const more = s.options.alternatePortals
    ? await s.options
        .alternatePortals()
        .catch((err: Error) => (s.log.debug(`no alternate portals: ${err.message}`), []))
    : [];
  for (const p of more) {
    const opened = await tryPortal(p);
    if (opened) {
      s.log.info(`target found again at ${p.host}:${p.port} through its discovery records`);
      return opened;
    }
  }
  throw firstError;
}
