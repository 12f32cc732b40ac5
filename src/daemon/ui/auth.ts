// The dashboard's gate, in front of every request: the Host must be ours (DNS rebinding), the token must come
// with the request (cookie or header), and anything that is not a GET must also carry our own Origin (CSRF).
// Refusals are plain text that says what to do; the token is never echoed or logged.
import { sameSecret, type LoginCodes } from "./token.ts";

export interface Gate {
  token: string;
  codes: LoginCodes;
  port: number;
}

/** Headers every answer carries: no framing, no sniffing, no referrer (the first URL holds the token). */
export const BASE_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

export const TOKEN_HEADER = "x-iscsi-token";
const COOKIE_MAX_AGE_S = 30 * 24 * 3600;

/** Cookies are not separated by port, so the name carries it: two daemons on one host keep their own. */
export const cookieName = (port: number) => `iscsi_ui_${port}`;

export function plain(status: number, text: string, extra: Record<string, string> = {}): Response {
  return new Response(text + "\n", {
    status,
    headers: { ...BASE_HEADERS, "content-type": "text/plain; charset=utf-8", ...extra },
  });
}

const hosts = (port: number) => [`127.0.0.1:${port}`, `localhost:${port}`];
const origins = (port: number) => hosts(port).map((h) => `http://${h}`);

function cookieToken(req: Request, port: number): string | undefined {
  const name = cookieName(port);
  for (const part of (req.headers.get("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function presentedToken(req: Request, port: number): string | undefined {
  const header = req.headers.get(TOKEN_HEADER);
  if (header) return header;
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "");
  return bearer?.[1] ?? cookieToken(req, port);
}

/** The first visit: `?token=` or a single-use `?code=` becomes a cookie, and the address loses it (303). */
function firstVisit(req: Request, url: URL, g: Gate): Response | undefined {
  const token = url.searchParams.get("token");
  const code = url.searchParams.get("code");
  if (token === null && code === null) return undefined;
  if (req.method !== "GET") return plain(405, "a login address is opened with GET");
  const good = token !== null ? sameSecret(token, g.token) : g.codes.redeem(code!);
  if (!good) {
    return plain(
      403,
      token !== null
        ? "The token in this address is wrong. Run `iscsi ui` for the current address."
        : "This login code is used up or expired (codes work once, for a minute). Run `iscsi ui --open` again.",
    );
  }
  const cookie = `${cookieName(g.port)}=${g.token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${COOKIE_MAX_AGE_S}`;
  return new Response(null, {
    status: 303,
    headers: { ...BASE_HEADERS, location: url.pathname, "set-cookie": cookie },
  });
}

/** Undefined when the request may go on; otherwise the refusal to send. */
export function gate(req: Request, url: URL, g: Gate): Response | undefined {
  if (!hosts(g.port).includes(req.headers.get("host") ?? "")) {
    return plain(403, `This dashboard answers only as 127.0.0.1:${g.port} or localhost:${g.port}.`);
  }
  const visit = firstVisit(req, url, g);
  if (visit) return visit;
  const given = presentedToken(req, g.port);
  if (given === undefined)
    return plain(401, "This dashboard needs its token: run `iscsi ui` and open the address it prints.");
  if (!sameSecret(given, g.token))
    return plain(403, "Wrong dashboard token: run `iscsi ui` and open the address it prints.");
  if (req.method !== "GET" && req.method !== "HEAD") {
    const origin = req.headers.get("origin");
    if (origin === null || !origins(g.port).includes(origin)) {
      return plain(
        403,
        `Refused: a ${req.method} must come from this dashboard's own page (Origin ${origin === null ? "missing" : origin.slice(0, 100)}).`,
      );
    }
  }
  return undefined;
}
