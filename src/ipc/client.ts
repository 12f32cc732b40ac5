// The CLI's side of the control socket: connect, send one request line, read one response line, check both
// against the schemas. A missing daemon or a socket we may not use is said plainly, with what to do.
import net from "node:net";
import * as v from "valibot";
import { IscsiError, isErrorCode } from "../contract/errors.ts";
import { LineSplitter, encodeLine } from "./framing.ts";
import {
  describeIssues,
  MAX_LINE_BYTES,
  REQUESTS,
  RESULTS,
  responseEnvelope,
  type Op,
  type RequestOf,
  type ResultOf,
} from "../contract/protocol.ts";

/** Ops that wait on targets (logins retry with backoff) get long; the rest answer at once. */
const SLOW_OPS: ReadonlySet<Op> = new Set([
  "discover",
  "login",
  "logout",
  "sessions.rescan",
  "attach.add",
  "attach.remove",
]);
const FAST_TIMEOUT_MS = 30_000;
const SLOW_TIMEOUT_MS = 15 * 60_000;

function connectError(socket: string, err: NodeJS.ErrnoException): IscsiError {
  const how =
    "start it with `sudo iscsi daemon` (foreground) or `sudo iscsi service install`; a daemon on another socket is reached with --socket PATH or $ISCSI_SOCKET";
  switch (err.code) {
    case "ENOENT":
    case "ECONNREFUSED":
    case "ENOTDIR":
      return new IscsiError(
        "DAEMON_NOT_RUNNING",
        `the iscsi daemon is not running (no one listens on ${socket}); ${how}`,
        { cause: err },
      );
    case "EACCES":
    case "EPERM":
      return new IscsiError(
        "ACCESS",
        `permission denied on the daemon's socket ${socket}: it is root-only; run this command as root (sudo)`,
        { cause: err },
      );
    default:
      return new IscsiError("DAEMON_COMM", `cannot talk to the daemon on ${socket}: ${err.message}`, { cause: err });
  }
}

/** Sends one request and returns its checked result; a daemon-side error is rethrown with its code. */
export function call<K extends Op>(
  socket: string,
  request: RequestOf<K> & { op: K },
  timeoutMs?: number,
): Promise<ResultOf<K>> {
  const op = request.op as K;
  const checked = v.safeParse(REQUESTS[op], request);
  if (!checked.success)
    return Promise.reject(
      new IscsiError("INVALID_ARGUMENT", `invalid ${op} request: ${describeIssues(checked.issues)}`),
    );
  const limit = timeoutMs ?? (SLOW_OPS.has(op) ? SLOW_TIMEOUT_MS : FAST_TIMEOUT_MS);
  return new Promise<ResultOf<K>>((resolve, reject) => {
    const conn = net.connect(socket);
    const splitter = new LineSplitter(MAX_LINE_BYTES);
    let settled = false;
    let connected = false;
    const finish = (err: Error | undefined, value?: ResultOf<K>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(
      () => finish(new IscsiError("TIMEOUT", `the daemon did not answer ${op} within ${Math.round(limit / 1000)} s`)),
      limit,
    );
    conn.on("connect", () => {
      connected = true;
      // No correlation id of our own: one request per connection.
      conn.write(encodeLine(checked.output));
    });
    conn.on("error", (err: NodeJS.ErrnoException) =>
      finish(
        connected
          ? new IscsiError("DAEMON_COMM", `lost the daemon's socket ${socket}: ${err.message}`)
          : connectError(socket, err),
      ),
    );
    conn.on("data", (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch (err) {
        return finish(new IscsiError("DAEMON_COMM", `bad answer from the daemon: ${(err as Error).message}`));
      }
      if (lines.length > 0) finish(...decode(op, lines[0]!));
    });
    conn.on("close", () =>
      finish(new IscsiError("DAEMON_COMM", `the daemon closed the connection without answering ${op}`)),
    );
  });
}

function decode<K extends Op>(op: K, line: string): [Error | undefined, ResultOf<K>?] {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return [new IscsiError("DAEMON_COMM", "the daemon's answer is not JSON")];
  }
  const env = v.safeParse(responseEnvelope, raw);
  if (!env.success)
    return [new IscsiError("DAEMON_COMM", `the daemon's answer has the wrong shape: ${describeIssues(env.issues)}`)];
  if (!env.output.ok) {
    const code = isErrorCode(env.output.error.code) ? env.output.error.code : "GENERIC";
    return [new IscsiError(code, env.output.error.message)];
  }
  const result = v.safeParse(RESULTS[op], env.output.result);
  if (!result.success)
    return [
      new IscsiError("DAEMON_COMM", `the daemon's ${op} result has the wrong shape: ${describeIssues(result.issues)}`),
    ];
  return [undefined, result.output as ResultOf<K>];
}
