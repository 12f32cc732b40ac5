// What the first-run path and the disks page do with a NAS, in daemon ops: remember how to authenticate,
// find its targets and log in to them, list the disk LUNs of its sessions, and eject a disk in the safe order
// (unmount + detach, then log out when no other disk uses the connection).
import { op, OpError } from "./api.js";

const DISCOVERY_AUTH = "discovery.sendtargets.auth.";
const NODE_AUTH = "node.session.auth.";
/** SPC-4 peripheral device type 0, as the daemon names it: the LUNs that can be a disk. */
const DISK = "direct access block device";

/** Stores how to authenticate discovery at `portal`: CHAP with a user (and the secret, when one is typed), or none. */
export async function prepareDiscoveryAuth(portal, user, secret) {
  await op("discoverydb.new", { portal });
  await op("discoverydb.update", { portal, name: `${DISCOVERY_AUTH}authmethod`, value: user ? "CHAP" : "None" });
  if (user) await op("discoverydb.update", { portal, name: `${DISCOVERY_AUTH}username`, value: user });
  if (secret) await op("secret.set", { scope: "discovery", portal, name: "password", value: secret });
}

/** The attach.list result as an array, whichever shape the daemon answers with (an array, or { attachments }). */
export const attachmentsOf = (r) => (Array.isArray(r) ? r : (r?.attachments ?? []));

export const listAttachments = async () => attachmentsOf(await op("attach.list"));

/** A logout result that failed becomes an OpError with the daemon's code. */
function check(result) {
  if (result && !result.ok) throw new OpError(result.error.code, result.error.message);
  return result;
}

/**
 * Asks the NAS at `portal` for its targets (recording each as a saved target), gives each the CHAP user and
 * secret when one is typed (most NASes use one account for discovery and login), and logs in to each.
 * Resolves with the targets and, per target, the login's outcome.
 */
export async function connectNas(portal, user, secret) {
  await prepareDiscoveryAuth(portal, user, secret);
  const found = await op("discover", { portal, record: true });
  const outcomes = [];
  for (const t of found.targets) {
    if (user) {
      await op("node.update", { target: t.name, name: `${NODE_AUTH}authmethod`, value: "CHAP" });
      await op("node.update", { target: t.name, name: `${NODE_AUTH}username`, value: user });
      for (const p of secret ? t.portals : [])
        await op("secret.set", {
          scope: "node",
          target: t.name,
          portal: { host: p.host, port: p.port },
          name: "password",
          value: secret,
        });
    }
    const { results } = await op("login", { target: t.name });
    outcomes.push(...results);
  }
  return { targets: found.targets, outcomes };
}

/** Disk LUNs (those with a capacity) of the sessions to `targets`, with what is already attached marked. */
export async function disksOf(targets) {
  const names = new Set(targets.map((t) => t.name));
  const [{ sessions }, attached] = await Promise.all([op("sessions.list"), listAttachments()]);
  return sessions
    .filter((s) => names.has(s.target))
    .flatMap((s) =>
      s.luns
        .filter((l) => l.bytes && l.deviceType === DISK)
        .map((l) => ({
          session: s,
          lun: l,
          attachment: attached.find((a) => a.target === s.target && a.lun === l.lun),
        })),
    );
}

/** Unmounts and detaches `a`, then logs its connection out when no other disk uses it. `force` skips the waits. */
export async function eject(a, force = false) {
  await op("attach.remove", { attachment: a.id, ...(force ? { force: true } : {}) });
  const others = (await listAttachments()).filter((x) => x.sid === a.sid);
  if (others.length > 0) return;
  const { results } = await op("logout", { sid: a.sid });
  check(results[0]);
}

/** Logs out sessions to `targets` that no disk uses: what the first-run path opened only to list disks. */
export async function closeUnused(targets) {
  const names = new Set(targets.map((t) => t.name));
  const [{ sessions }, attached] = await Promise.all([op("sessions.list"), listAttachments()]);
  for (const s of sessions) {
    if (names.has(s.target) && !attached.some((a) => a.sid === s.sid)) await op("logout", { sid: s.sid });
  }
}

/**
 * A session's state in words, for people: "connected", "reconnecting since 12:03", "disconnected".
 * `clock` formats the time of the last event.
 */
export function stateWords(session, clock) {
  if (!session) return { words: "not connected", tone: "bad" };
  switch (session.state) {
    case "full-feature":
      return { words: "connected", tone: "ok" };
    case "recovering":
    case "verifying": {
      const since = session.history?.at(-1)?.at ?? session.since;
      return { words: `reconnecting since ${clock(since)}`, tone: "warn" };
    }
    case "logging-out":
      return { words: "disconnecting", tone: "warn" };
    default:
      return { words: session.error ? `disconnected: ${session.error}` : "disconnected", tone: "bad" };
  }
}
