// An iSNSP client over TCP (RFC 4171 §5): one request at a time with a fresh transaction ID, each answer checked
// (function ID, transaction ID, status) before use, every failure an IscsiError naming the server and message.
import type { Socket } from "bun";
import { IscsiError, type ErrorCode } from "../contract/errors.ts";
import { ISNS_PORT } from "../isns/constants.ts";
import { IsnsError } from "../isns/errors.ts";
import {
  devAttrQryTargets,
  devAttrReg,
  devDereg,
  parseResponse,
  parseTargets,
  registrationPeriod,
  type IsnsTarget,
  type Registration,
  type Request,
  type Response,
} from "../isns/messages.ts";
import { encodeMessage, functionName, MessageFramer, type Message } from "../isns/pdu.ts";
import { connectSocket, type SocketEvents } from "../transport/tcp.ts";
import { SendQueue } from "../transport/send-queue.ts";

export interface IsnsServer {
  host: string;
  port: number;
}

export const DEFAULT_ISNS_PORT = ISNS_PORT;
const describe = (s: IsnsServer) => (s.host.includes(":") ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`);

/** Status codes (RFC 4171 §5.4) that say something other than "the server failed", mapped onto our catalogue. */
const STATUS_CODES: Record<number, ErrorCode> = {
  6: "ACCESS",
  7: "ACCESS",
  8: "ACCESS",
  9: "NOT_FOUND",
  12: "BUSY",
  15: "NOT_SUPPORTED",
};

export class IsnsClient implements SocketEvents {
  private readonly framer = new MessageFramer();
  private readonly queue: SendQueue;
  private nextTransaction = 1 + Math.floor(Math.random() * 0x7fff);
  private waiting: { resolve: (m: Message) => void; reject: (e: Error) => void } | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;

  private constructor(
    private readonly socket: Socket<undefined>,
    readonly server: IsnsServer,
    private readonly timeoutMs: number,
  ) {
    this.queue = new SendQueue((data) => (this.failure ? -1 : socket.write(data)));
  }

  static async connect(server: IsnsServer, timeoutMs: number): Promise<IsnsClient> {
    try {
      return await connectSocket(
        server.host,
        server.port,
        timeoutMs,
        (socket) => new IsnsClient(socket, server, timeoutMs),
      );
    } catch (err) {
      throw new IscsiError("TRANSPORT", `iSNS server ${describe(server)}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Our address as the server sees it: where we ask it to send SCNs. */
  get localAddress(): string {
    return this.socket.localAddress;
  }

  /** Sends `req` and returns its checked answer; a status other than Successful throws unless `allow` lists it. */
  call(req: Request, allow: number[] = []): Promise<Response> {
    const run = this.chain.then(() => this.exchange(req, allow));
    this.chain = run.catch(() => {});
    return run;
  }

  private async exchange(req: Request, allow: number[]): Promise<Response> {
    if (this.failure) throw this.failure;
    const transactionId = this.nextTransaction;
    this.nextTransaction = (this.nextTransaction % 0xffff) + 1;
    const name = functionName(req.functionId);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answer = new Promise<Message>((resolve, reject) => {
      this.waiting = { resolve, reject };
      timer = setTimeout(
        () =>
          reject(
            new IscsiError(
              "TIMEOUT",
              `iSNS server ${describe(this.server)} did not answer ${name} within ${this.timeoutMs} ms`,
            ),
          ),
        this.timeoutMs,
      );
    });
    this.queue.push([encodeMessage({ ...req, transactionId })]);
    try {
      const r = parseResponse(await answer, { functionId: req.functionId, transactionId });
      if (r.status !== 0 && !allow.includes(r.status)) {
        throw new IscsiError(
          STATUS_CODES[r.status] ?? "GENERIC",
          `iSNS server ${describe(this.server)} refused ${name}: status ${r.status} (${r.statusName})`,
        );
      }
      return r;
    } catch (err) {
      if (err instanceof IsnsError)
        throw this.fail(new IscsiError("PROTOCOL", `iSNS server ${describe(this.server)}: ${err.message}`));
      throw err;
    } finally {
      clearTimeout(timer);
      this.waiting = undefined;
    }
  }

  onData(chunk: Uint8Array): void {
    try {
      for (const m of this.framer.push(chunk)) {
        if (!this.waiting)
          throw new IsnsError(
            `unexpected ${functionName(m.functionId)} (transaction ${m.transactionId}) with no request outstanding`,
          );
        this.waiting.resolve(m);
      }
    } catch (err) {
      this.fail(new IscsiError("PROTOCOL", `iSNS server ${describe(this.server)}: ${(err as Error).message}`));
    }
  }

  onDrain(): void {
    this.queue.flush();
  }

  onClosed(error?: Error): void {
    this.fail(
      new IscsiError("TRANSPORT", `iSNS server ${describe(this.server)}: ${error?.message ?? "connection closed"}`),
    );
  }

  private fail(err: Error): Error {
    this.failure ??= err;
    this.waiting?.reject(this.failure);
    this.socket.end();
    return this.failure;
  }

  close(): void {
    this.failure ??= new IscsiError("TRANSPORT", `iSNS connection to ${describe(this.server)} closed`);
    this.socket.end();
  }
}

/** Registers (DevAttrReg) and returns the registration period the server granted, in seconds (0: none). */
export async function register(client: IsnsClient, r: Registration): Promise<number> {
  return registrationPeriod(await client.call(devAttrReg(r))) ?? 0;
}

export async function queryTargets(client: IsnsClient, source: string): Promise<IsnsTarget[]> {
  const r = await client.call(devAttrQryTargets(source));
  try {
    return parseTargets(r.operating);
  } catch (err) {
    throw new IscsiError(
      "PROTOCOL",
      `iSNS server ${describe(client.server)}: DevAttrQryRsp: ${(err as Error).message}`,
    );
  }
}

export async function deregister(client: IsnsClient, source: string, entityId: string): Promise<void> {
  await client.call(devDereg(source, entityId));
}

/** One-shot discovery: register our node (visibility follows discovery domains), query targets, deregister. */
export async function isnsDiscover(opts: {
  server: IsnsServer;
  initiatorName: string;
  timeoutMs?: number;
}): Promise<IsnsTarget[]> {
  const client = await IsnsClient.connect(opts.server, opts.timeoutMs ?? 10_000);
  const entityId = entityIdFor(opts.initiatorName);
  try {
    await register(client, { source: opts.initiatorName, entityId });
    try {
      return await queryTargets(client, opts.initiatorName);
    } finally {
      await deregister(client, opts.initiatorName, entityId).catch(() => {});
    }
  } finally {
    client.close();
  }
}

/** The Entity Identifier we register under: stable per initiator name, so a new run replaces an old one. */
export function entityIdFor(initiatorName: string): string {
  return `${initiatorName}:entity`;
}
