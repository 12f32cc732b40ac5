// TCP transport that reads and writes its Bun socket through bun:ffi (ffi/net/native_tcp.c) where Bun's
// own reads would copy: sends leave from the queued pieces in one sendmsg (native-send.ts); small traffic
// is read by Bun as usual, but while large data segments flow, reads go straight into the buffer the
// receiver names (a Data-In segment's destination) or into one reused receive buffer lent to it, with
// Bun's reading paused and a watcher thread's doorbell saying when the socket is readable
// (docs/performance.md, "A native transport").
import type { Socket } from "bun";
import type { Pointer } from "bun:ffi";
import { loadNative, type NativeLib } from "./native-lib.ts";
import { GatherQueue } from "./native-send.ts";
import { TransportError } from "./errors.ts";
import { Pipe } from "./pipe.ts";
import { connectSocket, type SocketEvents } from "./tcp.ts";
import type { Transport } from "./types.ts";

/** The reused receive buffer, for the bytes around placed segments (headers, small segments). */
const RECEIVE_BYTES = 64 * 1024;
/** While large segments flow, reads stop at the next PDU's header, so its segment can be placed too (as libiscsi reads). */
const HEADER_READ = 48;
/** Segments from this size are read straight into place; smaller ones are left to Bun's reads. */
const PLACE_MIN = 64 * 1024;
/** Header-sized reads in a row that found no large segment before Bun reads again. */
const HEADER_MISSES = 2;
/** Bytes read per turn before yielding to the event loop (the socket is level-triggered: nothing is missed). */
const READ_BUDGET = 8 * 1024 * 1024;

type Watcher = { state: "none" | "starting" | "failed" } | { state: "ready"; handle: Pointer; bell: Socket<undefined> };

class NativeTransport extends Pipe implements SocketEvents {
  private readonly receive = new Uint8Array(RECEIVE_BYTES);
  protected readonly queue: GatherQueue;
  private watcher: Watcher = { state: "none" };
  private paused = false; // Bun's reading is paused; the watcher's doorbell reports readability
  private misses = HEADER_MISSES; // header-sized reads in a row that found no large segment to place
  private lastWasHeader = false;

  constructor(
    private readonly lib: NativeLib,
    private readonly socket: Socket<undefined>,
    private readonly fd: number,
    peer: string,
  ) {
    super(peer);
    const { nt_send } = lib.symbols;
    this.queue = new GatherQueue({
      sendv: (desc, count) => nt_send(fd, desc, count),
      wouldBlock: lib.wouldBlock,
      write: (data) => socket.write(data),
      fail: (code) => this.fail("lost", code),
    });
  }

  get localAddress(): string | undefined {
    return this.socket.localAddress || undefined;
  }

  close(): void {
    if (this.closed) return;
    this.onClosed();
  }

  /** Bun read a chunk (it is ours to keep); then large segments may follow, which we read ourselves. */
  onData(chunk: Uint8Array): void {
    if (this.deliver(chunk)) this.pump();
  }

  onDrain(): void {
    if (!this.closed) this.queue.drain();
  }

  onClosed(error?: Error): void {
    // The watcher is joined before Bun closes the socket it watches.
    this.shut(error, () => {
      const w = this.watcher;
      this.watcher = { state: "failed" };
      if (w.state === "ready") {
        this.lib.symbols.nt_unwatch(w.handle);
        w.bell.end();
      }
      this.socket.end();
    });
  }

  /**
   * Read while large segments flow: straight into a placed segment, else a header (or a small segment's rest
   * and the next header) into the lent buffer. Gives the socket back to Bun once no large segment shows up.
   */
  private pump(): void {
    const { nt_recv } = this.lib.symbols;
    const handlers = this.receiver!;
    for (let budget = READ_BUDGET; budget > 0 && !this.closed; ) {
      const p = handlers.placement?.();
      if (p && p.segmentLength >= PLACE_MIN) this.misses = 0;
      else if (this.lastWasHeader && this.misses < HEADER_MISSES) this.misses++;
      const placing = p !== undefined && p.rest.length >= PLACE_MIN;
      if (!placing && this.misses >= HEADER_MISSES) return this.readByBun();
      const want = placing ? p.rest.length : Math.min((p?.rest.length ?? 0) + HEADER_READ, RECEIVE_BYTES);
      const n = nt_recv(this.fd, placing ? p.rest : this.receive, want);
      this.lastWasHeader = !placing && n === want;
      if (n === this.lib.wouldBlock) return this.readByWatcher();
      if (n === 0) return this.onClosed(new TransportError(`connection to ${this.peer} closed by the target`));
      if (n < 0 || n > want) return this.fail("lost", n < 0 ? n : -22);
      if (placing) handlers.placed!(n);
      else handlers.data(this.receive.subarray(0, n), true);
      budget -= n;
      // A short read means the socket is empty for now.
      if (n < want) return this.readByWatcher();
    }
    if (this.paused && !this.closed) this.arm(); // budget spent: the level-triggered watcher rings again at once
  }

  private readByBun(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }

  /** Wait for readability without letting Bun read (and copy) the next large segment. */
  private readByWatcher(): void {
    if (this.closed) return;
    if (this.watcher.state === "none") this.startWatcher();
    if (this.watcher.state !== "ready") return; // meanwhile Bun's reads carry on
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    this.arm();
  }

  private arm(): void {
    if (this.watcher.state !== "ready") return;
    const r = this.lib.symbols.nt_arm(this.watcher.handle);
    if (r < 0) this.fail("cannot wait for the socket", r);
  }

  /** The watcher thread and its doorbell, started the first time large segments flow. */
  private startWatcher(): void {
    const { nt_watch, nt_unwatch } = this.lib.symbols;
    const out = new Int32Array(1);
    const handle = nt_watch(this.fd, out) as Pointer | null;
    if (!handle) {
      // Out of threads or descriptors: Bun keeps reading, slower but never wrong.
      this.watcher = { state: "failed" };
      return;
    }
    this.watcher = { state: "starting" };
    Bun.connect<undefined>({
      fd: out[0]!,
      socket: {
        data: () => {
          if (!this.closed && this.watcher.state === "ready") this.pump();
        },
        close: () => {
          if (!this.closed && this.watcher.state === "ready")
            this.onClosed(new TransportError(`connection to ${this.peer}: watcher doorbell closed`));
        },
      },
    } as unknown as Parameters<typeof Bun.connect<undefined>>[0]).then(
      (bell) => {
        if (this.closed) {
          nt_unwatch(handle);
          bell.end();
        } else {
          this.watcher = { state: "ready", handle, bell };
        }
      },
      () => {
        // Bun may or may not have taken the descriptor, so it is not closed here (one fd, on a path not seen).
        nt_unwatch(handle);
        this.watcher = { state: "failed" }; // Bun keeps reading: slower, never wrong
      },
    );
  }

  private fail(what: string, code: number): void {
    if (this.closed) return;
    this.onClosed(
      new TransportError(`connection to ${this.peer} ${what}: ${String(this.lib.symbols.nt_strerror(code))}`),
    );
  }
}

/** Connect to host:port (Bun.connect) for the native transport; rejects with a TransportError naming the peer. */
export async function connectNative(host: string, port: number, timeoutMs = 10_000): Promise<Transport> {
  const lib = await loadNative();
  return connectSocket(host, port, timeoutMs, (socket, peer) => {
    // QUIRK(Bun 1.4.5): Socket.fd exists at run time but is not in bun-types.
    const fd = (socket as unknown as { fd?: unknown }).fd;
    if (typeof fd !== "number" || !Number.isInteger(fd) || fd < 0)
      throw new TransportError(`connection to ${peer}: this Bun does not expose the socket's descriptor`);
    return new NativeTransport(lib, socket, fd, peer);
  });
}
