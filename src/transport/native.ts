// TCP transport that reads and writes the socket itself through bun:ffi (ffi/net/native_tcp.c), so no byte
// is copied by Bun: reads go into one reused receive buffer lent to the receiver, or straight into the
// buffer the receiver names (the rest of a Data-In segment's destination); sends gather the queued pieces
// from their own memory in one sendmsg. A poller thread in C rings a socketpair doorbell, read with
// Bun.connect({fd}), when the socket is ready (docs/performance.md, "A native transport").
import type { Socket } from "bun";
import { ptr, type Pointer } from "bun:ffi";
import { isIP } from "node:net";
import { lookup } from "node:dns/promises";
import { loadNative, type NativeLib } from "./native-lib.ts";
import { TransportError } from "./tcp.ts";
import type { Transport, TransportHandlers } from "./types.ts";

const READABLE = 1;
const WRITABLE = 2;
/** The reused receive buffer: the most one read takes when bytes are not placed. */
const RECEIVE_BYTES = 256 * 1024;
/** While large segments flow, reads stop at the next PDU's header, so its segment can be placed too. */
const HEADER_READ = 48;
/** Placed reads are worth their own system call from this size; smaller segments come through the receive buffer. */
const PLACE_MIN = 64 * 1024;
/** Header-sized reads that led to no placed segment before reads go back to filling the receive buffer. */
const HEADER_MISSES = 2;
/** Bytes read per doorbell before yielding to the event loop (the re-armed poller rings again at once). */
const READ_BUDGET = 8 * 1024 * 1024;
/** Pieces and bytes one sendmsg takes (the shim's limits). */
const SEND_PIECES = 1024;
const SEND_BYTES = 64 * 1024 * 1024;

class NativeTransport implements Transport {
  private handlers: TransportHandlers | undefined;
  private closeReport: { error?: Error } | undefined;
  private readonly receive = new Uint8Array(RECEIVE_BYTES);
  private readonly desc = new Float64Array(2 * SEND_PIECES);
  private armed = 0; // interest registered with the poller and not yet reported
  private misses = HEADER_MISSES; // header-sized reads in a row that found no large segment to place
  private lastWasHeader = false;
  private pieces: Uint8Array[] = [];
  private head = 0;
  private offset = 0;
  private bytes = 0;
  private scheduled = false;
  private waiters: Array<() => void> = [];
  closed = false;

  constructor(
    private readonly lib: NativeLib,
    private handle: Pointer | null,
    private readonly bell: Socket<undefined>,
    readonly peer: string,
  ) {}

  get queuedBytes(): number {
    return this.bytes;
  }

  send(pieces: readonly Uint8Array[]): void {
    if (this.closed) return;
    for (const p of pieces) {
      if (p.length === 0) continue;
      this.pieces.push(p);
      this.bytes += p.length;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  drained(): Promise<void> {
    if (this.bytes === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  attach(handlers: TransportHandlers): void {
    this.handlers = handlers;
    if (this.closeReport) handlers.close(this.closeReport.error);
    else this.arm();
  }

  close(): void {
    this.onClosed();
  }

  /** The doorbell rang: the poller reported `bits` and is disarmed until arm(). */
  onBell(bits: number): void {
    this.armed = 0;
    if (this.closed) return;
    if (bits & READABLE && this.handlers) this.read();
    if (!this.closed && this.bytes > 0) this.flush();
    if (!this.closed) this.arm();
  }

  onClosed(error?: Error): void {
    if (this.closeReport) return;
    this.closed = true;
    this.closeReport = error ? { error } : {};
    // Joins the poller before freeing: no doorbell byte or handle use can follow.
    this.lib.symbols.nt_close(this.handle);
    this.handle = null;
    this.bell.end();
    this.pieces = [];
    this.head = this.offset = this.bytes = 0;
    this.wakeWaiters();
    this.handlers?.close(error);
  }

  /** Register what we wait for: always readability once attached, writability while bytes are queued. */
  private arm(): void {
    const want = (this.handlers ? READABLE : 0) | (this.bytes > 0 ? WRITABLE : 0);
    if (want === this.armed || this.closed) return;
    const r = this.lib.symbols.nt_arm(this.handle, want);
    if (r < 0) return this.fail("cannot wait for the socket", r);
    this.armed = want;
  }

  /**
   * Read until the socket is empty or the budget is spent. Bytes go straight into a large placed segment,
   * else into the lent receive buffer. While large segments flow, a read stops at the next PDU's header
   * (like libiscsi's), so that segment is placed too instead of arriving inside a large buffered read.
   */
  private read(): void {
    const { nt_recv } = this.lib.symbols;
    const handlers = this.handlers!;
    for (let budget = READ_BUDGET; budget > 0 && !this.closed; ) {
      const p = handlers.placement?.();
      if (p && p.segmentLength >= PLACE_MIN) this.misses = 0;
      else if (this.lastWasHeader && this.misses < HEADER_MISSES) this.misses++;
      const placing = p !== undefined && p.rest.length >= PLACE_MIN;
      const headerMode = !placing && this.misses < HEADER_MISSES;
      const want = placing ? p.rest.length : headerMode ? (p?.rest.length ?? 0) + HEADER_READ : RECEIVE_BYTES;
      const n = nt_recv(this.handle, placing ? p.rest : this.receive, want);
      this.lastWasHeader = headerMode && n === want;
      if (n === this.lib.wouldBlock) return;
      if (n === 0) return this.onClosed(new TransportError(`connection to ${this.peer} closed by the target`));
      if (n < 0) return this.fail("lost", n);
      if (n > want) return this.fail("read", -22); // EINVAL: the shim broke its contract
      if (placing) handlers.placed!(n);
      else handlers.data(this.receive.subarray(0, n), true);
      budget -= n;
      // A short read means the socket is empty for now; the re-armed (level-triggered) poller reports more.
      if (n < want) return;
    }
  }

  /** Send queued pieces from their own memory, as many per sendmsg as the shim takes, until the socket is full. */
  private flush(): void {
    const { nt_send } = this.lib.symbols;
    while (!this.closed && this.head < this.pieces.length) {
      let count = 0;
      let total = 0;
      for (let i = this.head; i < this.pieces.length && count < SEND_PIECES; i++) {
        const piece = this.pieces[i]!;
        const skip = i === this.head ? this.offset : 0;
        const len = piece.length - skip;
        if (total + len > SEND_BYTES && count > 0) break;
        this.desc[2 * count] = ptr(piece) + skip;
        this.desc[2 * count + 1] = len;
        total += len;
        count++;
      }
      const n = nt_send(this.handle, this.desc, count);
      if (n === this.lib.wouldBlock) break;
      if (n < 0) return this.fail("lost", n);
      if (n > total) return this.fail("send", -22);
      this.consume(n);
      if (n < total) break; // the socket is full: the doorbell says when it drains
    }
    if (this.closed) return;
    if (this.head >= this.pieces.length) {
      this.pieces = [];
      this.head = this.offset = 0;
      this.wakeWaiters();
    }
    this.arm();
  }

  private consume(n: number): void {
    this.bytes -= n;
    while (n > 0) {
      const left = this.pieces[this.head]!.length - this.offset;
      if (n >= left) {
        n -= left;
        this.head++;
        this.offset = 0;
      } else {
        this.offset += n;
        n = 0;
      }
    }
  }

  private wakeWaiters(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private fail(what: string, code: number): void {
    const message = String(this.lib.symbols.nt_strerror(code));
    this.onClosed(new TransportError(`connection to ${this.peer} ${what}: ${message}`));
  }
}

/** Connect to host:port through the native shim; rejects with a TransportError naming the peer. */
export async function connectNative(host: string, port: number, timeoutMs = 10_000): Promise<Transport> {
  const peer = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const lib = loadNative();
  let address = host;
  if (isIP(host) === 0) {
    try {
      address = (await lookup(host)).address;
    } catch (err) {
      throw new TransportError(`cannot connect to ${peer}: ${(err as Error).message}`, { cause: err });
    }
  }
  const out = new Int32Array(1);
  const cAddress = new TextEncoder().encode(`${address}\0`);
  const handle = lib.symbols.nt_open(cAddress, port, out) as Pointer | null;
  if (!handle) throw new TransportError(`cannot connect to ${peer}: ${String(lib.symbols.nt_strerror(out[0]!))}`);
  let transport: NativeTransport | undefined;
  // Set only while waiting for the connect: a late doorbell byte must not reach a freed handle.
  let connected: ((code: number) => void) | undefined;
  let bell: Socket<undefined>;
  try {
    bell = await Bun.connect<undefined>({
      fd: out[0]!,
      socket: {
        binaryType: "uint8array",
        data(_s: Socket<undefined>, bytes: Uint8Array) {
          let bits = 0;
          for (const b of bytes) bits |= b;
          if (transport) transport.onBell(bits);
          else if (connected) connected(lib.symbols.nt_connect_result(handle));
        },
        close() {
          transport?.onClosed(new TransportError(`connection to ${peer}: doorbell closed`));
        },
      },
    } as unknown as Parameters<typeof Bun.connect<undefined>>[0]);
  } catch (err) {
    lib.symbols.nt_close(handle);
    throw new TransportError(`cannot connect to ${peer}: doorbell: ${(err as Error).message}`, { cause: err });
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const code = await new Promise<number | "timeout">((resolve) => {
    connected = resolve;
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
    const r = lib.symbols.nt_arm(handle, WRITABLE);
    if (r < 0) resolve(r);
  });
  clearTimeout(timer);
  connected = undefined;
  if (code !== 0) {
    lib.symbols.nt_close(handle);
    bell.end();
    if (code === "timeout") throw new TransportError(`connecting to ${peer} timed out after ${timeoutMs} ms`);
    throw new TransportError(`cannot connect to ${peer}: ${String(lib.symbols.nt_strerror(code))}`);
  }
  transport = new NativeTransport(lib, handle, bell, peer);
  return transport;
}
