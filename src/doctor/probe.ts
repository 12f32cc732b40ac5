// The portal half of `iscsi doctor PORTAL`: TCP reachability with timing, SendTargets (RFC 7143 §11.10,
// Appendix C) with the discovery record's credentials, reachability of the portals targets advertise, then
// one probe per target (target-probe.ts), a few at a time.
import { discover, type DiscoveredTarget } from "../discovery/send-targets.ts";
import type { EngineAuth } from "../daemon/engine.ts";
import { errorCodeOf } from "../contract/errors.ts";
import { formatPortal, type Portal } from "../transport/portal.ts";
import { connectTcp } from "../transport/tcp.ts";
import { explainConnect, explainLogin } from "./explain.ts";
import { Findings } from "./finding.ts";
import type { StoredState } from "./stored.ts";
import { probeTarget } from "./target-probe.ts";

export interface PortalProbeOptions {
  portal: Portal;
  /** Probe only this target (it need not be listed by SendTargets). */
  target?: string;
  initiatorName: string;
  /** Credentials given on the command line or in the environment; they win over stored ones. */
  auth?: { auth: EngineAuth; source: string };
  stored: StoredState;
  timeoutMs: number;
  nopWaitMs: number;
}

/** Targets probed at once: enough to keep a NAS with many targets quick, few enough not to look like an attack. */
const PARALLEL_TARGETS = 4;

async function tcpCheck(portal: Portal, timeoutMs: number): Promise<{ ms: number } | { error: unknown }> {
  const started = performance.now();
  try {
    const t = await connectTcp(portal.host, portal.port, timeoutMs);
    const ms = performance.now() - started;
    t.close();
    return { ms };
  } catch (error) {
    return { error };
  }
}

async function sendTargets(f: Findings, o: PortalProbeOptions): Promise<DiscoveredTarget[] | undefined> {
  const p = formatPortal(o.portal);
  const stored = await o.stored.discovery(o.portal);
  if (stored && "problem" in stored) {
    f.fail(
      "portal.sendtargets",
      `the discovery record of ${p} cannot be used: ${stored.problem}`,
      `fix it: \`iscsi -m discoverydb -t st -p ${p} -o show\``,
      "CONFIG",
    );
    return undefined;
  }
  const tries: Array<{ auth: EngineAuth; source: string }> = [
    stored ? { auth: stored.auth, source: "discovery record" } : { auth: { method: "None" }, source: "none" },
  ];
  // Credentials from the command line are for targets; discovery gets them only if it turns out to need them.
  if (o.auth && o.auth.auth.method === "CHAP" && tries[0]!.auth.method === "None") tries.push(o.auth);
  let failure: unknown;
  let used = tries[0]!;
  for (const attempt of tries) {
    used = attempt;
    const started = performance.now();
    try {
      const targets = await discover({
        portal: o.portal,
        initiatorName: o.initiatorName,
        auth: attempt.auth,
        connectTimeoutMs: o.timeoutMs,
        loginTimeoutMs: o.timeoutMs,
      });
      const ms = performance.now() - started;
      const data = { targets, ms, auth: attempt.source };
      if (targets.length === 0) {
        f.warn(
          "portal.sendtargets",
          `SendTargets lists no targets for ${o.initiatorName}`,
          `targets hide themselves from initiators their ACL does not allow (by name or by IP address): add ${o.initiatorName} (or this machine's address) to the ACL of the target you expect`,
          data,
        );
      } else {
        f.ok(
          "portal.sendtargets",
          `SendTargets lists ${targets.length} target(s) in ${Math.round(ms)} ms: ${targets.map((t) => t.name).join(", ")}`,
          data,
        );
      }
      return targets;
    } catch (err) {
      failure = err;
      if (errorCodeOf(err) !== "AUTH_FAILED") break;
    }
  }
  const e = explainLogin(failure, {
    what: "the discovery login",
    portal: p,
    initiatorName: o.initiatorName,
    auth: used.auth.method,
    mutual: used.auth.method === "CHAP" && used.auth.mutual !== undefined,
    storeCredentials: `set them with \`iscsi -m discoverydb -t st -p ${p} -o update -n discovery.sendtargets.auth.authmethod -v CHAP\`, \`… -n discovery.sendtargets.auth.username -v USER\`, then \`iscsi secret set --discovery -p ${p} --file SECRET_FILE\``,
  });
  f.fail("portal.sendtargets", e.summary, e.fix, e.code, { error: (failure as Error).message });
  return undefined;
}

/** Portals the targets advertise besides the one asked: `-m node --login` uses them, so they must be reachable. */
async function advertisedPortals(f: Findings, o: PortalProbeOptions, targets: DiscoveredTarget[]): Promise<void> {
  const others = new Map<string, Portal>();
  for (const t of targets)
    for (const p of t.portals) if (p.host !== o.portal.host || p.port !== o.portal.port) others.set(formatPortal(p), p);
  for (const [text, p] of others) {
    const r = await tcpCheck(p, Math.min(o.timeoutMs, 3000));
    if ("ms" in r) f.ok("portal.advertised", `advertised portal ${text} is reachable too (${Math.round(r.ms)} ms)`);
    else
      f.warn(
        "portal.advertised",
        `the targets also advertise ${text}, which is unreachable from here: ${(r.error as Error).message}`,
        `logins to it will fail; log in through ${formatPortal(o.portal)} (\`-p ${formatPortal(o.portal)}\`), or fix the target's portal list or this machine's routes`,
      );
  }
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export async function probePortal(o: PortalProbeOptions): Promise<Findings[]> {
  const p = formatPortal(o.portal);
  const f = new Findings(`portal ${p}`);
  const tcp = await tcpCheck(o.portal, o.timeoutMs);
  if ("error" in tcp) {
    const e = explainConnect(tcp.error, p, o.portal.host, o.portal.port);
    f.fail("portal.tcp", e.summary, e.fix, e.code, { error: (tcp.error as Error).message });
    return [f];
  }
  f.ok("portal.tcp", `TCP connect to ${p} in ${tcp.ms < 10 ? tcp.ms.toFixed(1) : Math.round(tcp.ms)} ms`, {
    ms: tcp.ms,
  });
  for (const note of o.stored.notes) {
    f.warn(
      "portal.stored-state",
      `the daemon's records could not all be read, so stored credentials may be missing: ${note}`,
      "run `sudo iscsi doctor` (the state dir is root-only), or fix what is named",
    );
  }
  const targets = (await sendTargets(f, o)) ?? [];
  await advertisedPortals(f, o, targets);
  let names = targets.map((t) => t.name);
  if (o.target) {
    if (targets.length > 0 && !names.includes(o.target)) {
      f.warn(
        "portal.target-listed",
        `${o.target} is not among the targets SendTargets lists for ${o.initiatorName}`,
        `check the name; if it is right, the target's ACL probably does not allow ${o.initiatorName}`,
      );
    }
    names = [o.target];
  }
  const perTarget = await mapLimited(names, PARALLEL_TARGETS, async (target) => {
    const stored = await o.stored.node(target, o.portal, o.initiatorName);
    const notes = new Findings(`target ${target}`);
    if (stored && "problem" in stored && !o.auth) {
      notes.warn(
        "target.node-record",
        `the node record cannot be used as it is: ${stored.problem}`,
        `fix it (\`iscsi -m node -T ${target} -p ${p} -o show\`); probing without its credentials`,
      );
    }
    const params = stored && "params" in stored ? stored.params : undefined;
    const auth =
      o.auth ??
      (params
        ? { auth: params.auth, source: `node record ${formatPortal(stored!.record.portal)}` }
        : { auth: { method: "None" } as EngineAuth, source: "none" });
    const probed = await probeTarget({
      portal: o.portal,
      target,
      initiatorName: o.initiatorName,
      auth: auth.auth,
      authSource: auth.source,
      ...(stored ? { settings: stored.record.settings } : {}),
      ...(params ? { proposal: params.proposal } : {}),
      timeoutMs: o.timeoutMs,
      nopWaitMs: o.nopWaitMs,
    });
    notes.list.push(...probed.list);
    return notes;
  });
  return [f, ...perTarget];
}
