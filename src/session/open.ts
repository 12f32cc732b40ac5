// Opening a connection for a session: TCP connect, login within a time limit, and login redirects
// (RFC 7143 §11.13.5 status class 1) followed for a bounded number of hops. Mechanism only: retry and
// backoff policy belong to the caller.
import { IscsiError } from "../contract/errors.ts";
import {
  ChapAlgorithmRejected,
  DigestRejected,
  login,
  LoginRedirect,
  type LoginParams,
  type Negotiated,
} from "../login/login.ts";
import { DEFAULT_PROPOSAL, type Digest } from "../login/keys.ts";
import { connectTransport, resolveTransport, type TransportChoice } from "../transport/connect.ts";
import { Connection, asIscsiError } from "../connection/connection.ts";
import { withTimeout } from "../transport/deadline.ts";
import type { Portal } from "../transport/portal.ts";
import type { Transport } from "../transport/types.ts";

/** Login parameters for a new session or a reinstatement: a given ISID, TSIH 0 (RFC 7143 §6.3.5). */
export function loginParamsFor(
  login: Omit<LoginParams, "isid" | "tsih" | "cid" | "initialCmdSN">,
  isid: number,
  initialCmdSN: number,
  added?: { tsih: number; cid: number },
): LoginParams {
  return { ...login, isid, tsih: added?.tsih ?? 0, cid: added?.cid ?? 0, initialCmdSN };
}

export interface OpenOptions {
  connectTimeoutMs?: number;
  /** Whole login, all PDUs together (reliability.md case 7: a slow-drip target must not stretch it). */
  loginTimeoutMs?: number;
  maxRedirects?: number;
  /** TCP transport: Bun's sockets, the native shim, or "auto" (default: $ISCSI_TRANSPORT, else "auto"). */
  transport?: TransportChoice;
  /** Opens the pipe to a portal instead of TCP (an in-memory pipe to a scripted target in tests). */
  connect?: (portal: Portal, timeoutMs: number) => Promise<Transport>;
}

export interface OpenedConnection {
  connection: Connection;
  negotiated: Negotiated;
  /** Where we ended up after redirects. */
  portal: Portal;
}

export async function openConnection(
  portal: Portal,
  params: LoginParams,
  tag: string,
  opts: OpenOptions = {},
): Promise<OpenedConnection> {
  const maxRedirects = opts.maxRedirects ?? 5;
  let at = portal;
  let md5Fallback = false;
  let digestsInFull = noneFirst(params) === undefined;
  const chosen = opts.connect ? undefined : await resolveTransport(opts.transport);
  const connect = opts.connect ?? ((p: Portal, ms: number) => connectTransport(chosen!.kind, p.host, p.port, ms));
  for (let hop = 0; ; hop++) {
    const connection = new Connection(await connect(at, opts.connectTimeoutMs ?? 10_000), tag);
    if (chosen?.fellBack) connection.log.debug(`Bun's transport: ${chosen.why}`);
    try {
      const offered = digestsInFull ? params : noneFirst(params)!;
      const attempt =
        md5Fallback && offered.auth.method === "CHAP"
          ? { ...offered, auth: { ...offered.auth, algorithms: [5] } }
          : offered;
      const negotiated = await withTimeout(
        login(connection.loginExchange(), attempt),
        opts.loginTimeoutMs ?? 15_000,
        () =>
          new IscsiError(
            "TIMEOUT",
            `login to ${connection.peer} timed out after ${(opts.loginTimeoutMs ?? 15_000) / 1000} s: the target accepted the connection but did not answer the login (is this an iSCSI port?)`,
          ),
      );
      return { connection, negotiated, portal: at };
    } catch (err) {
      connection.close();
      // QUIRK(Synology/old LIO, open-iscsi #180): a target that refuses our CHAP_A list gets one more
      // try offering only MD5, the algorithm every target must support (RFC 7143 §12.1.3).
      if (err instanceof ChapAlgorithmRejected && !md5Fallback) {
        connection.log.info("target refused our CHAP_A list; retrying with MD5 only");
        md5Fallback = true;
        hop--;
        continue;
      }
      if (err instanceof DigestRejected && !digestsInFull) {
        connection.log.info(`target rejected ${err.key}=None; retrying with the full digest offer`);
        digestsInFull = true;
        hop--;
        continue;
      }
      if (err instanceof LoginRedirect) {
        if (hop + 1 > maxRedirects) {
          throw new IscsiError(
            "LOGIN",
            `login to ${portal.host}:${portal.port} redirected more than ${maxRedirects} times (last to ${err.address.host}:${err.address.port}); giving up`,
          );
        }
        connection.log.info(
          `redirected ${err.permanent ? "permanently" : "temporarily"} to ${err.address.host}:${err.address.port}`,
        );
        at = { host: err.address.host, port: err.address.port };
        continue;
      }
      throw asIscsiError(err, connection.peer);
    }
  }
}

/**
 * QUIRK(tgt 1.0): offered HeaderDigest=None,CRC32C, tgtd answers CRC32C, where RFC 7143 §6.2 has the responder
 * pick the first value it supports. So a digest list that starts with None is offered as None alone first,
 * and in full only when the target rejects None (it requires CRC32C): no digests unless a target insists.
 * Undefined when there is nothing to hold back.
 */
function noneFirst(params: LoginParams): LoginParams | undefined {
  const p = { ...DEFAULT_PROPOSAL, ...params.proposal };
  const cut = (list: readonly Digest[]) => (list[0] === "None" && list.length > 1 ? (["None"] as Digest[]) : undefined);
  const header = cut(p.headerDigest);
  const data = cut(p.dataDigest);
  if (!header && !data) return undefined;
  return {
    ...params,
    proposal: {
      ...params.proposal,
      ...(header ? { headerDigest: header } : {}),
      ...(data ? { dataDigest: data } : {}),
    },
  };
}
