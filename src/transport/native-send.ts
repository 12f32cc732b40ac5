// Ordered send queue of the native transport: queued pieces leave from their own memory, up to 1024 of them
// per sendmsg (ffi/net/native_tcp.c), with no gathering copy. When the socket is full, the next bytes are
// handed to Bun's write instead, which then watches for writability and calls `drain` (design.md §2: Bun's
// write does not queue what it did not take, so nothing is lost either way).
import { ptr } from "bun:ffi";

/** Pieces and bytes one sendmsg takes (the shim's limits). */
const SEND_PIECES = 1024;
const SEND_BYTES = 64 * 1024 * 1024;
/** Consumed slots are dropped from the front of the piece list once there are this many. */
const COMPACT_AFTER = 1024;

export interface GatherWriters {
  /** sendmsg of `count` (address, length) pairs: bytes taken, `wouldBlock`, or -errno. */
  sendv(desc: Float64Array, count: number): number;
  wouldBlock: number;
  /** Bun's socket.write: bytes taken (0..n), or -1 when the socket is closed. Arranges a `drain` if short. */
  write(data: Uint8Array): number;
  /** The socket failed (-errno from sendv, or closed): close the transport. */
  fail(code: number): void;
}

export class GatherQueue {
  private readonly desc = new Float64Array(2 * SEND_PIECES);
  private pieces: Uint8Array[] = [];
  private head = 0; // index of the first unsent piece
  private offset = 0; // bytes of pieces[head] already written
  private bytes = 0;
  private scheduled = false;
  private waitingDrain = false;
  private waiters: Array<() => void> = [];
  private dead = false;
  private count = 0; // pieces described in desc by the last describe()

  constructor(private readonly io: GatherWriters) {}

  get queuedBytes(): number {
    return this.bytes;
  }

  /** Queue pieces (not copied: don't change them); they leave in the microtask after this tick's sends. */
  push(pieces: readonly Uint8Array[]): void {
    if (this.dead) return;
    for (const p of pieces) {
      if (p.length === 0) continue;
      this.pieces.push(p);
      this.bytes += p.length;
    }
    if (!this.scheduled && !this.waitingDrain) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /** Bun says the socket is writable again. */
  drain(): void {
    this.waitingDrain = false;
    this.flush();
  }

  drained(): Promise<void> {
    if (this.bytes === 0 || this.dead) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  kill(): void {
    this.dead = true;
    this.pieces = [];
    this.head = this.offset = this.bytes = 0;
    this.wake();
  }

  private flush(): void {
    while (!this.dead && !this.waitingDrain && this.head < this.pieces.length) {
      const total = this.describe();
      let n = this.io.sendv(this.desc, this.count);
      if (n === this.io.wouldBlock) n = 0;
      else if (n < 0 || n > total) return this.io.fail(n < 0 ? n : -22); // -EINVAL: the shim broke its contract
      this.consume(n);
      if (n === total) continue;
      // The socket is full: Bun's write takes what fits now and reports writability later.
      const piece = this.pieces[this.head]!.subarray(this.offset);
      const w = this.io.write(piece);
      if (w < 0) return this.io.fail(-32); // -EPIPE: Bun closed the socket
      this.consume(w);
      if (w < piece.length) this.waitingDrain = true;
    }
    if (this.dead) return;
    if (this.head >= this.pieces.length) {
      this.pieces = [];
      this.head = this.offset = 0;
      this.wake();
    } else if (this.head >= COMPACT_AFTER) {
      // Under steady backpressure the list never empties: drop sent slots so they (and their buffers) can go.
      this.pieces = this.pieces.slice(this.head);
      this.head = 0;
    }
  }

  /** Fill `desc` with the next pieces (address, length); returns their total bytes and sets `count`. */
  private describe(): number {
    let count = 0;
    let total = 0;
    for (let i = this.head; i < this.pieces.length && count < SEND_PIECES; i++) {
      const piece = this.pieces[i]!;
      const skip = i === this.head ? this.offset : 0;
      const len = piece.length - skip;
      if (count > 0 && total + len > SEND_BYTES) break;
      this.desc[2 * count] = ptr(piece) + skip;
      this.desc[2 * count + 1] = len;
      total += len;
      count++;
    }
    this.count = count;
    return total;
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

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
