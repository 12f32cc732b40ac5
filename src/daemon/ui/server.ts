// The web dashboard (docs/architecture.md, "The dashboard"): Bun.serve on 127.0.0.1 only, behind the token gate (auth.ts); the page's
// files (assets.ts) and one API route, POST /api/op, which takes a control-protocol request as JSON and answers
// through the same parsing, schemas and dispatch as the control socket; GET /api/errors gives the catalogue's words.
import type { ConsolaInstance } from "consola";
import type { Server } from "bun";
import { ERROR_CATALOGUE } from "../../contract/errors.ts";
import { ASSETS, CONTENT_SECURITY_POLICY } from "./assets.ts";
import { BASE_HEADERS, gate, plain, type Gate } from "./auth.ts";
import type { UiInfo } from "../../contract/views.ts";
import type { AnswerLine, UiEndpoint } from "./state.ts";
import { ensureUiToken, LoginCodes } from "./token.ts";

/** Same bound as a control-socket request line. */
const MAX_BODY_BYTES = 64 * 1024;

export interface UiOptions {
  stateDir: string;
  port: number;
  answer: AnswerLine;
  log: ConsolaInstance;
}

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), {
    headers: { ...BASE_HEADERS, "content-type": "application/json; charset=utf-8" },
  });
}

async function apiOp(req: Request, answer: AnswerLine): Promise<Response> {
  if (req.method !== "POST") return plain(405, "POST a JSON request here", { allow: "POST" });
  // A form or a no-CORS fetch from elsewhere cannot send this type without a preflight, which we never grant.
  if (!(req.headers.get("content-type") ?? "").startsWith("application/json"))
    return plain(415, "send the request as application/json");
  const body = await req.text();
  if (body.length > MAX_BODY_BYTES) return plain(413, `requests are at most ${MAX_BODY_BYTES} bytes`);
  return json(await answer(body, "dashboard"));
}

/** The catalogue's words for each error code, so the page can say what a code means. */
const ERROR_WORDS = JSON.stringify(
  Object.fromEntries(Object.entries(ERROR_CATALOGUE).map(([code, e]) => [code, e.what])),
);

function route(req: Request, url: URL, opts: UiOptions): Response | Promise<Response> {
  if (url.pathname === "/api/op") return apiOp(req, opts.answer);
  if (url.pathname === "/api/errors")
    return new Response(ERROR_WORDS, {
      headers: { ...BASE_HEADERS, "content-type": "application/json; charset=utf-8" },
    });
  const asset = ASSETS.get(url.pathname);
  if (!asset) return plain(404, `nothing at ${url.pathname.slice(0, 200)}`);
  if (req.method !== "GET" && req.method !== "HEAD") return plain(405, "only GET here", { allow: "GET, HEAD" });
  return new Response(asset.body, {
    headers: { ...BASE_HEADERS, "content-type": asset.type, "content-security-policy": CONTENT_SECURITY_POLICY },
  });
}

/** Starts the dashboard; a port already in use is reported in `info()`, never fatal to the daemon. */
export function serveUi(opts: UiOptions): UiEndpoint {
  const g: Gate = { token: ensureUiToken(opts.stateDir, opts.log), codes: new LoginCodes(), port: opts.port };
  let server: Server<undefined> | undefined;
  let problem: string | undefined;
  try {
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: opts.port,
      maxRequestBodySize: MAX_BODY_BYTES,
      fetch(req) {
        const url = new URL(req.url);
        return gate(req, url, g) ?? route(req, url, opts);
      },
      error(err) {
        opts.log.error(`dashboard: ${err.message}`);
        return plain(500, "internal error; see the daemon's log");
      },
    });
    opts.log.info(`dashboard on http://127.0.0.1:${opts.port}/ (address with token: \`iscsi ui\`)`);
  } catch (err) {
    problem = `cannot listen on 127.0.0.1:${opts.port}: ${(err as Error).message}; change iscsid.ui.port in the config file`;
    opts.log.error(`dashboard not started: ${problem}`);
  }
  return {
    info(once: boolean): UiInfo {
      if (!server) return { enabled: false, port: opts.port, problem };
      const query = once ? `code=${g.codes.issue()}` : `token=${g.token}`;
      return { enabled: true, port: opts.port, url: `http://127.0.0.1:${opts.port}/?${query}` };
    },
    async close() {
      await server?.stop(true);
    },
  };
}
