// Opening a connection for a session: TCP connect, login within a time limit, and login redirects
// (RFC 7143 §11.13.5 status class 1) followed for a bounded number of hops. Mechanism only: retry and
// backoff policy belong to the caller.
import { IscsiError } from "../errors.ts";
import { ChapAlgorithmRejected, login, LoginRedirect, type LoginParams, type Negotiated } from "../login/login.ts";
import { connectTransport, resolveTransport, type TransportChoice } from "../transport/connect.ts";
import { Connection, asIscsiError } from "../connection/connection.ts";

export interface Portal {
  host: string;
  port: number;
}

/** Login parameters for a new session or a reinstatement: a given ISID, TSIH 0 (RFC 7143 §6.3.5). */
export function loginParamsFor(login: Omit<LoginParams, "isid" | "tsih" | "cid" | "initialCmdSN">, isid: number, initialCmdSN: number, added?: { tsih: number; cid: number }): LoginParams {
  return { ...login, isid, tsih: added?.tsih ?? 0, cid: added?.cid ?? 0, initialCmdSN };
}

export interface OpenOptions {
  connectTimeoutMs?: number;
  /** Whole login, all PDUs together (reliability.md case 7: a slow-drip target must not stretch it). */
  loginTimeoutMs?: number;
  maxRedirects?: number;
  /** TCP transport: Bun's sockets, the native shim, or "auto" (default: $ISCSI_TRANSPORT, else "auto"). */
  transport?: TransportChoice;
}

export interface OpenedConnection {
  connection: Connection;
  negotiated: Negotiated;
  /** Where we ended up after redirects. */
  portal: Portal;
}

export async function openConnection(portal: Portal, params: LoginParams, tag: string, opts: OpenOptions = {}): Promise<OpenedConnection> {
  const maxRedirects = opts.maxRedirects ?? 5;
  let at = portal;
  let md5Fallback = false;
  const chosen = await resolveTransport(opts.transport);
  for (let hop = 0; ; hop++) {
    const transport = await connectTransport(chosen.kind, at.host, at.port, opts.connectTimeoutMs ?? 10_000);
    const connection = new Connection(transport, tag);
    if (chosen.fellBack) connection.log.debug(`Bun's transport: ${chosen.why}`);
    try {
      const attempt = md5Fallback && params.auth.method === "CHAP" ? { ...params, auth: { ...params.auth, algorithms: [5] } } : params;
      const negotiated = await withTimeout(login(connection.loginExchange(), attempt), opts.loginTimeoutMs ?? 15_000, () => `login to ${connection.peer} timed out after ${opts.loginTimeoutMs ?? 15_000} ms`);
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
      if (err instanceof LoginRedirect) {
        if (hop + 1 > maxRedirects) {
          throw new IscsiError("LOGIN", `login to ${portal.host}:${portal.port} redirected more than ${maxRedirects} times (last to ${err.address.host}:${err.address.port}); giving up`);
        }
        connection.log.info(`redirected ${err.permanent ? "permanently" : "temporarily"} to ${err.address.host}:${err.address.port}`);
        at = { host: err.address.host, port: err.address.port };
        continue;
      }
      throw asIscsiError(err, connection.peer);
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new IscsiError("TIMEOUT", what())), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
