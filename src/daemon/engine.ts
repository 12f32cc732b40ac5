// The daemon's one door to the engine: opening and ending sessions, SendTargets, and the LUN scan shown by
// `-m session -P 3`. Everything else in src/daemon sees only `EngineSession`; the session reinstates itself
// after a lost connection (docs/architecture.md, "Recovery (ERL0)", ERL0), so the daemon only shows its state.
import { discover, type DiscoveredTarget } from "../discovery/send-targets.ts";
import type { LoginParams, Negotiated } from "../login/login.ts";
import { LogicalUnit } from "../session/logical-unit.ts";
import { IscsiError } from "../contract/errors.ts";
import { Session, type SessionState } from "../session/session.ts";
import { connectBound, type SourceBinding } from "../transport/bound.ts";
import type { LunInfo } from "../contract/views.ts";

export type { DiscoveredTarget } from "../discovery/send-targets.ts";
export type { Negotiated } from "../login/login.ts";
export type EngineAuth = LoginParams["auth"];
export type EngineProposal = NonNullable<LoginParams["proposal"]>;

export interface EnginePortal {
  host: string;
  port: number;
}

/** What the daemon reads of a session; `Session` fits it as it is. */
export interface EngineSession {
  readonly id: number;
  readonly state: SessionState;
  readonly negotiated: Negotiated;
  readonly stats: Readonly<Record<string, number>>;
  readonly portal: EnginePortal;
  /** Reconnect history (lost, attempt-failed, reinstated, ...), newest last. */
  readonly history?: readonly { at: number; event: string; detail: string }[];
  /** Its TCP connections (MC/S): the leading one (CID 0) first. */
  readonly connections?: { views(): Array<{ cid: number; peer: string; outstanding: number; commands: number }> };
  logout(timeoutMs?: number): Promise<void>;
  close(reason?: Error): void;
}

export interface OpenParams {
  portal: EnginePortal;
  initiatorName: string;
  targetName: string;
  auth: EngineAuth;
  /** Kept per node so a login after a daemon crash reinstates (replaces) the stale session (RFC 7143 §6.3.5). */
  isid: number;
  proposal: Partial<EngineProposal>;
  loginTimeoutMs: number;
  queueDepth: number;
  /** node.session.timeo.replacement_timeout in ms: 0 fails waiting I/O at once, -1 never. */
  replacementTimeoutMs: number;
  /** Leave through this interface and/or from this address (iface.net_ifacename, iface.ipaddress). */
  source?: SourceBinding;
  /** Where else the target may be found when its portal stops answering (rediscover.ts). */
  alternatePortals?: () => Promise<EnginePortal[]>;
}

/** The engine's session behind an entry: every EngineSession the daemon holds came from openSession. */
export function sessionOf(e: EngineSession): Session {
  if (!(e instanceof Session)) throw new IscsiError("INTERNAL", `session ${e.id} is not an engine session`);
  return e;
}

/** The local address of the session's connection now (the "Iface IPaddress" of `-m session -P 3`), if known. */
export function localAddressOf(e: EngineSession): string | undefined {
  return e instanceof Session ? e.connection.localAddress : undefined;
}

/** `sid`: the daemon's number for the session, which its log lines then carry. */
export async function openSession(p: OpenParams, sid?: number): Promise<EngineSession> {
  return Session.open({
    id: sid,
    portal: p.portal,
    login: {
      initiatorName: p.initiatorName,
      targetName: p.targetName,
      sessionType: "Normal",
      auth: p.auth,
      isid: p.isid,
      proposal: p.proposal,
    },
    loginTimeoutMs: p.loginTimeoutMs,
    connectTimeoutMs: Math.min(10_000, p.loginTimeoutMs),
    queueDepth: p.queueDepth,
    recovery: { replacementTimeoutMs: p.replacementTimeoutMs },
    ...(p.alternatePortals ? { alternatePortals: p.alternatePortals } : {}),
    ...(p.source ? { connect: (at: EnginePortal, ms: number) => connectBound(at.host, at.port, p.source!, ms) } : {}),
  });
}

export async function sendTargets(
  portal: EnginePortal,
  initiatorName: string,
  auth: EngineAuth,
  loginTimeoutMs: number,
): Promise<DiscoveredTarget[]> {
  return discover({ portal, initiatorName, auth, loginTimeoutMs, connectTimeoutMs: Math.min(10_000, loginTimeoutMs) });
}

/** REPORT LUNS, then INQUIRY and capacity of each LUN (SPC-4, SBC-3). Failures are reported per LUN. */
export async function scanLuns(session: EngineSession): Promise<LunInfo[]> {
  const s = sessionOf(session);
  const lun0 = new LogicalUnit(s, 0);
  await lun0.testUnitReady().catch(() => {});
  const out: LunInfo[] = [];
  for (const n of await lun0.reportLuns()) {
    const lu = new LogicalUnit(s, n);
    try {
      const inq = await lu.inquiry();
      const info: LunInfo = {
        lun: n,
        deviceType: inq.deviceTypeName,
        vendor: inq.vendor,
        product: inq.product,
        revision: inq.revision,
      };
      if (inq.peripheralDeviceType === 0x00) {
        await lu.testUnitReady();
        const cap = await lu.open();
        info.blockSize = cap.blockSize;
        info.bytes = cap.bytes.toString();
      }
      out.push(info);
    } catch (err) {
      out.push({ lun: n, deviceType: "unknown", vendor: "", product: "", revision: "", error: (err as Error).message });
    }
  }
  return out;
}
