// Ordered send queue of the native transport: queued pieces leave from their own memory, up to 1024 of them
// per sendmsg (ffi/net/native_tcp.c), with no gathering copy. When the socket is full, the next bytes are
// handed to Bun's write instead, which then watches for writability and calls `drain` (Bun's write does not
// queue what it did not take, so nothing is lost either way). The bookkeeping is the shared PieceQueue's.
import { ptr } from "bun:ffi";
import { PieceQueue } from "./send-queue.ts";

/** Pieces and bytes one sendmsg takes (the shim's limits). */
const SEND_PIECES = 1024;
const SEND_BYTES = 64 * 1024 * 1024;

export interface GatherWriters {
  /** sendmsg of `count` (address, length) pairs: bytes taken, `wouldBlock`, or -errno. */
  sendv(desc: Float64Array, count: number): number;
  wouldBlock: number;
  /** Bun's socket.write: bytes taken (0..n), or -1 when the socket is closed. Arranges a `drain` if short. */
  write(data: Uint8Array): number;
  /** The socket failed (-errno from sendv, or closed): close the transport. */
  fail(code: number): void;
}

export class GatherQueue extends PieceQueue {
  private readonly desc = new Float64Array(2 * SEND_PIECES);
  private waitingDrain = false;
  private count = 0; // pieces described in desc by the last describe()

  constructor(private readonly io: GatherWriters) {
    super();
  }

  /** Bun says the socket is writable again. */
  drain(): void {
    this.waitingDrain = false;
    this.flush();
  }

  protected override blocked(): boolean {
    return this.waitingDrain;
  }

  flush(): void {
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
    this.settle();
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
}
