// TCP transport on Bun.connect: connect with a timeout; the send queue and close report are the shared Pipe's.
// connectSocket is shared with the native transport, which reads and writes the same kind of socket itself.
import type { Socket } from "bun";
import { withTimeout } from "./deadline.ts";
import { formatPortal } from "./portal.ts";
import { TransportError } from "./errors.ts";
import { Pipe } from "./pipe.ts";
import { SendQueue } from "./send-queue.ts";
import type { Transport } from "./types.ts";

class TcpTransport extends Pipe implements SocketEvents {
  protected readonly queue: SendQueue;

  constructor(
    private readonly socket: Socket<undefined>,
    peer: string,
  ) {
    super(peer);
    this.queue = new SendQueue((data) => (this.closed ? -1 : socket.write(data)));
  }

  get localAddress(): string | undefined {
    return this.socket.localAddress || undefined;
  }

  close(): void {
    if (this.closed) return;
    this.socket.end();
    this.onClosed();
  }

  onData(chunk: Uint8Array): void {
    this.deliver(chunk);
  }

  onDrain(): void {
    this.queue.flush();
  }

  onClosed(error?: Error): void {
    this.shut(error);
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

/** A TCP connection made elsewhere (bound.ts), handed over as its connected descriptor `fd`. */
export function adoptTcp(fd: number, host: string, port: number, timeoutMs = 10_000): Promise<Transport> {
  return connectSocket(host, port, timeoutMs, (socket, peer) => new TcpTransport(socket, peer), fd);
}

/** Bun.connect with a timeout (or of an already connected `fd`); `wrap` turns the socket into the object that gets its events. */
export async function connectSocket<T extends SocketEvents>(
  host: string,
  port: number,
  timeoutMs: number,
  wrap: (socket: Socket<undefined>, peer: string) => T,
  fd?: number,
): Promise<T> {
  const peer = formatPortal({ host, port });
  let user: T | undefined;
  // bun-types declares only hostname/port and unix; Bun.connect also takes a connected `fd` (as native.ts uses it).
  const connecting = Bun.connect<undefined>({
    ...((fd !== undefined ? { fd } : { hostname: host, port }) as { hostname: string; port: number }),
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
        user?.onClosed(
          error
            ? new TransportError(`connection to ${peer} lost: ${error.message}`, { cause: error })
            : new TransportError(`connection to ${peer} closed`),
        );
      },
      error(_s, error) {
        user?.onClosed(new TransportError(`connection to ${peer} failed: ${error.message}`, { cause: error }));
      },
      connectError() {},
    },
  });
  let socket: Socket<undefined>;
  try {
    socket = await withTimeout(
      connecting,
      timeoutMs,
      () => new TransportError(`connecting to ${peer} timed out after ${timeoutMs} ms`),
    );
    socket.setNoDelay(true);
  } catch (err) {
    connecting.then(
      (s) => s.end(),
      () => {},
    );
    if (err instanceof TransportError) throw err;
    throw new TransportError(`cannot connect to ${peer}: ${connectFailure(err)}`, { cause: err });
  }
  try {
    user = wrap(socket, peer);
  } catch (err) {
    socket.end();
    throw err;
  }
  return user;
}

/** Why a connect failed, in words a user can act on (Bun's message is only "Failed to connect"). */
function connectFailure(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused (nothing listens on that port)";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "host unreachable (no route to it)";
    case "ETIMEDOUT":
      return "timed out";
    case "ENOTFOUND":
    case "EAI_NONAME":
      return "no such host name";
    default:
      return `${(err as Error)?.message ?? String(err)}${typeof code === "string" ? ` (${code})` : ""}`;
  }
}
