// SendTargets discovery (RFC 7143 §11.10, Appendix C): a Discovery session, `SendTargets=All`, and the
// answer folded into targets with all their portals (IPv4, DNS names and bracketed IPv6).
import { IscsiError } from "../contract/errors.ts";
import type { LoginParams } from "../login/login.ts";
import { iscsiNameProblem } from "../pdu/iscsi-name.ts";
import { parseTargetAddress } from "../pdu/text.ts";
import { Session } from "../session/session.ts";
import type { OpenOptions } from "../session/open.ts";
import type { Portal } from "../transport/portal.ts";

export interface TargetPortal {
  host: string;
  port: number;
  portalGroupTag?: number;
}

export interface DiscoveredTarget {
  name: string;
  portals: TargetPortal[];
}

/** Fold SendTargets key=value pairs into targets. A target listed without TargetAddress is reachable at the discovery portal. */
export function parseSendTargets(pairs: Array<[string, string]>, discoveryPortal: Portal): DiscoveredTarget[] {
  const targets: DiscoveredTarget[] = [];
  let current: DiscoveredTarget | undefined;
  for (const [key, value] of pairs) {
    if (key === "TargetName") {
      const problem = iscsiNameProblem(value);
      if (problem) throw new IscsiError("PROTOCOL", `SendTargets: ${problem}: ${JSON.stringify(value.slice(0, 80))}`);
      current = { name: value, portals: [] };
      targets.push(current);
    } else if (key === "TargetAddress") {
      if (!current) throw new IscsiError("PROTOCOL", "SendTargets: TargetAddress before any TargetName");
      current.portals.push(parseTargetAddress(value));
    }
  }
  for (const t of targets)
    if (t.portals.length === 0) t.portals.push({ host: discoveryPortal.host, port: discoveryPortal.port });
  return targets;
}

export interface DiscoverOptions extends OpenOptions {
  portal: Portal;
  initiatorName: string;
  auth?: LoginParams["auth"];
  proposal?: LoginParams["proposal"];
}

/** Log in a Discovery session at `portal`, ask SendTargets=All, log out. */
export async function discover(opts: DiscoverOptions): Promise<DiscoveredTarget[]> {
  const session = await Session.open({
    ...opts,
    portal: opts.portal,
    login: {
      initiatorName: opts.initiatorName,
      sessionType: "Discovery",
      auth: opts.auth ?? { method: "None" },
      ...(opts.proposal ? { proposal: opts.proposal } : {}),
    },
  });
  try {
    const pairs = await session.requests.text([["SendTargets", "All"]]);
    return parseSendTargets(pairs, opts.portal);
  } finally {
    await session.logout().catch(() => session.close());
  }
}
