// TCP transport on Bun.connect: connect with a timeout, an own send queue for partial writes, one close report.
import type { Socket } from "bun";
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

/** Connect to host:port; rejects with a TransportError naming the peer on refusal or timeout. */
export async function connectTcp(host: string, port: number, timeoutMs = 10_000): Promise<Transport> {
  const peer = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  let transport: TcpTransport | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connecting = Bun.connect<undefined>({
    hostname: host,
    port,
    socket: {
      binaryType: "uint8array",
      data(_s, chunk) {
        transport?.onData(chunk);
      },
      drain() {
        transport?.onDrain();
      },
      end() {
        transport?.onClosed(new TransportError(`connection to ${peer} closed by the target`));
      },
      close(_s, error) {
        transport?.onClosed(error ? new TransportError(`connection to ${peer} lost: ${error.message}`, { cause: error }) : new TransportError(`connection to ${peer} closed`));
      },
      error(_s, error) {
        transport?.onClosed(new TransportError(`connection to ${peer} failed: ${error.message}`, { cause: error }));
      },
      connectError() {},
    },
  });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransportError(`connecting to ${peer} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const socket = await Promise.race([connecting, timeout]);
    socket.setNoDelay(true);
    transport = new TcpTransport(socket, peer);
    return transport;
  } catch (err) {
    connecting.then((s) => s.end(), () => {});
    if (err instanceof TransportError) throw err;
    const msg = (err as Error)?.message ?? String(err);
    throw new TransportError(`cannot connect to ${peer}: ${msg}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
