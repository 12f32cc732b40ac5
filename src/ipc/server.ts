// The daemon's control socket (design.md §5): a Unix socket created mode 0600 (umask closes the window between
// bind and chmod), one JSON request per line, each checked, dispatched and answered in order; a malformed one
// gets an INVALID_REQUEST answer naming what is wrong. Bun exposes no peer credentials, so the file mode is the gate.
import { chmodSync, existsSync, lstatSync, mkdirSync, rmSync } from "node:fs";
import net from "node:net";
import { dirname } from "node:path";
import type { ConsolaInstance } from "consola";
import * as v from "valibot";
import type { Daemon } from "../daemon/daemon.ts";
import { errorCodeOf, IscsiError } from "../errors.ts";
import { dispatcher } from "./dispatch.ts";
import { encodeLine, LineSplitter } from "./framing.ts";
import { describeIssues, MAX_REQUEST_BYTES, parseRequest, RESULTS, type Op, type Response } from "./protocol.ts";

const MAX_CONNECTIONS = 64;
const IDLE_MS = 60_000;

export interface IpcServer {
  readonly path: string;
  close(): Promise<void>;
}

/** Is a live daemon answering on `path`? A stale socket file from a killed daemon refuses connections. */
function someoneListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(path);
    c.on("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.on("error", () => resolve(false));
  });
}

async function prepareSocketPath(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new IscsiError("BUSY", `${path} exists and is not a socket; not touching it`);
  if (await someoneListens(path)) throw new IscsiError("BUSY", `another daemon already listens on ${path}`);
  rmSync(path);
}

export async function serveIpc(daemon: Daemon, path: string, log: ConsolaInstance): Promise<IpcServer> {
  await prepareSocketPath(path);
  const handlers = dispatcher(daemon) as Record<Op, (req: unknown) => unknown>;

  const answer = async (line: string): Promise<Response> => {
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      log.warn(`control socket: refused a request: ${parsed.message}`);
      return { id: parsed.id, ok: false, error: { code: "INVALID_REQUEST", message: parsed.message } };
    }
    const { request } = parsed;
    log.debug(`control socket: ${request.op}`); // never the body: secret.set carries a secret
    try {
      const result = await handlers[request.op](request);
      const checked = v.safeParse(RESULTS[request.op], result);
      if (!checked.success) throw new IscsiError("INTERNAL", `${request.op} result does not fit the protocol: ${describeIssues(checked.issues)}`);
      return { id: request.id, ok: true, result: checked.output };
    } catch (err) {
      const code = errorCodeOf(err);
      if (code === "INTERNAL" || code === "GENERIC") log.error(`${request.op}: ${(err as Error).stack ?? err}`);
      return { id: request.id, ok: false, error: { code, message: (err as Error)?.message ?? String(err) } };
    }
  };

  const open = new Set<net.Socket>();
  const server = net.createServer((conn) => {
    if (open.size >= MAX_CONNECTIONS) {
      conn.end(encodeLine({ ok: false, error: { code: "BUSY", message: `more than ${MAX_CONNECTIONS} clients at once` } }));
      return;
    }
    open.add(conn);
    conn.on("close", () => open.delete(conn));
    const splitter = new LineSplitter(MAX_REQUEST_BYTES);
    let chain = Promise.resolve();
    let busy = 0;
    conn.setTimeout(IDLE_MS, () => {
      if (busy === 0) conn.destroy();
    });
    conn.on("data", (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch (err) {
        conn.end(encodeLine({ ok: false, error: { code: "INVALID_REQUEST", message: (err as Error).message } }));
        return;
      }
      for (const line of lines) {
        busy++;
        chain = chain.then(async () => {
          const response = await answer(line);
          busy--;
          if (!conn.destroyed) conn.write(encodeLine(response));
        });
      }
    });
    conn.on("error", () => conn.destroy());
  });

  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    });
  } finally {
    process.umask(oldMask);
  }
  chmodSync(path, 0o600);
  log.info(`listening on ${path}`);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of open) c.destroy();
        rmSync(path, { force: true });
      }),
  };
}
