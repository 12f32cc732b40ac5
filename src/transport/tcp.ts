// TCP transport on Bun.connect: connect with a timeout, an own send queue for partial writes, one close report.
// connectSocket is shared with the native transport, which reads and writes the same kind of socket itself.
import type { Socket } from "bun";
import { withTimeout } from "./deadline.ts";
import { formatPortal } from "./portal.ts";
import { SendQueue } from "./send-queue.ts";
import type { Transport, TransportHandlers } from "./types.ts";

export class TransportError extends Error {
  readonly code = "TRANSPORT";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TransportError";
  }
}

class TcpTransport implements Transport {
  private handlers: TransportHandlers | undefined;
  private early: Uint8Array[] = [];
  private closeReport: { error?: Error } | undefined;
  private readonly queue: SendQueue;
  closed = false;

  constructor(
    private readonly socket: Socket<undefined>,
    readonly peer: string,
  ) {
    this.queue = new SendQueue((data) => (this.closed ? -1 : socket.write(data)));
  }

  get queuedBytes(): number {
    return this.queue.queuedBytes;
  }

  send(pieces: readonly Uint8Array[]): void {
    if (!this.closed) this.queue.push(pieces);
  }

  drained(): Promise<void> {
    return this.queue.drained();
  }

  attach(handlers: TransportHandlers): void {
    this.handlers = handlers;
    for (const chunk of this.early) handlers.data(chunk);
    this.early = [];
    if (this.closeReport) handlers.close(this.closeReport.error);
  }

  close(): void {
    if (this.closed) return;
    this.socket.end();
    this.onClosed();
  }

  onData(chunk: Uint8Array): void {
    if (this.closed) return;
    if (this.handlers) this.handlers.data(chunk);
    else this.early.push(chunk);
  }

  onDrain(): void {
    this.queue.flush();
  }

  onClosed(error?: Error): void {
    if (this.closeReport) return;
    this.closed = true;
    this.queue.kill();
    this.closeReport = error ? { error } : {};
    this.handlers?.close(error);
  }
}

/** What a Bun socket's events are handed to. */
export interface SocketEvents {
  onData(chunk: Uint8Array): void;
  onDrain(): void;
  onClosed(error?: Error): void;
}

/** Connect to host:port; rejects with a TransportError naming the peer on refusal or timeout. */
export function connectTcp(host: string, port: number, timeoutMs = 10_000): Promise<Transport> {
  return connectSocket(host, port, timeoutMs, (socket, peer) => new TcpTransport(socket, peer));
}

/** Bun.connect with a timeout; `wrap` turns the connected socket into the object that gets its events. */
export async function connectSocket<T extends SocketEvents>(
  host: string,
  port: number,
  timeoutMs: number,
  wrap: (socket: Socket<undefined>, peer: string) => T,
): Promise<T> {
  const peer = formatPortal({ host, port });
  let user: T | undefined;
  const connecting = Bun.connect<undefined>({
    hostname: host,
    port,
    socket: {
      binaryType: "arraybuffer",
      data(_s, chunk) {
        user?.onData(new Uint8Array(chunk));
      },
      drain() {
        user?.onDrain();
      },
      end() {
        user?.onClosed(new TransportError(`connection to ${peer} closed by the target`));
      },
      close(_s, error) {
        user?.onClosed(error ? new TransportError(`connection to ${peer} lost: ${error.message}`, { cause: error }) : new TransportError(`connection to ${peer} closed`));
      },
      error(_s, error) {
        user?.onClosed(new TransportError(`connection to ${peer} failed: ${error.message}`, { cause: error }));
      },
      connectError() {},
    },
  });
  let socket: Socket<undefined>;
  try {
    socket = await withTimeout(connecting, timeoutMs, () => new TransportError(`connecting to ${peer} timed out after ${timeoutMs} ms`));
    socket.setNoDelay(true);
  } catch (err) {
    connecting.then((s) => s.end(), () => {});
    if (err instanceof TransportError) throw err;
    const msg = (err as Error)?.message ?? String(err);
    throw new TransportError(`cannot connect to ${peer}: ${msg}`, { cause: err });
  }
  try {
    user = wrap(socket, peer);
  } catch (err) {
    socket.end();
    throw err;
  }
  return user;
}
