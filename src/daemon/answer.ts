// One request line in, one checked response out: parse and validate against the protocol, dispatch to the
// daemon's operation, check the result. The control socket and the dashboard's HTTP API both answer through it,
// so the two doors share every schema and every error.
import type { ConsolaInstance } from "consola";
import * as v from "valibot";
import type { Daemon } from "./daemon.ts";
import { errorCodeOf, IscsiError } from "../contract/errors.ts";
import { dispatcher } from "./dispatch.ts";
import { describeIssues, parseRequest, RESULTS, type Op, type Response } from "../contract/protocol.ts";

export type Answerer = (line: string, via: string) => Promise<Response>;

export function answerer(daemon: Daemon, log: ConsolaInstance): Answerer {
  const handlers = dispatcher(daemon) as Record<Op, (req: unknown) => unknown>;
  return async (line, via) => {
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      log.warn(`${via}: refused a request: ${parsed.message}`);
      return { id: parsed.id, ok: false, error: { code: "INVALID_REQUEST", message: parsed.message } };
    }
    const { request } = parsed;
    log.debug(`${via}: ${request.op}`); // never the body: secret.set carries a secret
    try {
      const result = await handlers[request.op](request);
      const checked = v.safeParse(RESULTS[request.op], result);
      if (!checked.success)
        throw new IscsiError(
          "INTERNAL",
          `${request.op} result does not fit the protocol: ${describeIssues(checked.issues)}`,
        );
      return { id: request.id, ok: true, result: checked.output };
    } catch (err) {
      const code = errorCodeOf(err);
      if (code === "INTERNAL" || code === "GENERIC") log.error(`${request.op}: ${(err as Error).stack ?? err}`);
      return { id: request.id, ok: false, error: { code, message: (err as Error)?.message ?? String(err) } };
    }
  };
}
