// The daemon's control socket (docs/architecture.md): a Unix socket created mode 0600 (umask closes the window between
// bind and chmod), one JSON request per line, each checked, dispatched and answered in order; a malformed one
// gets an INVALID_REQUEST answer naming what is wrong. Bun exposes no peer credentials, so the file mode is the gate.
import { chmodSync, existsSync, lstatSync, mkdirSync, rmSync } from "node:fs";
import net from "node:net";
import { dirname } from "node:path";
import type { ConsolaInstance } from "consola";
import type { Daemon } from "./daemon.ts";
import { IscsiError } from "../contract/errors.ts";
import { answerer, type Answerer } from "./answer.ts";
import { encodeLine, LineSplitter } from "../ipc/framing.ts";
import { MAX_REQUEST_BYTES } from "../contract/protocol.ts";

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

export async function serveIpc(
  daemon: Daemon,
  path: string,
  log: ConsolaInstance,
  answer: Answerer = answerer(daemon, log),
): Promise<IpcServer> {
  await prepareSocketPath(path);
  const open = new Set<net.Socket>();
  const server = net.createServer((conn) => {
    if (open.size >= MAX_CONNECTIONS) {
      conn.end(
        encodeLine({ ok: false, error: { code: "BUSY", message: `more than ${MAX_CONNECTIONS} clients at once` } }),
      );
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
          const response = await answer(line, "control socket");
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
