// The ordered send queue of every transport: pieces (not copied) leave in the microtask after this tick's sends;
// PieceQueue keeps the bookkeeping (what is sent, what waits, who waits for empty), a subclass the writing.
// SendQueue writes through Bun's socket.write, which may accept only part of a buffer and does NOT queue the
// rest (docs/architecture.md, "Transports"): small pieces (PDU headers, 8 KiB Data-Out segments) are gathered
// into one reused staging buffer, large ones written straight from the caller's memory.

/** Size of the reusable staging buffer: the most one gathered write carries. */
const STAGING_BYTES = 256 * 1024;
/** Pieces at least this large are written in place: a system call costs less than copying them. */
const DIRECT_BYTES = 64 * 1024;
/** Consumed slots are dropped from the front of the piece list once there are this many. */
const COMPACT_AFTER = 1024;

export abstract class PieceQueue {
  protected pieces: Uint8Array[] = [];
  protected head = 0; // index of the first unsent piece
  protected offset = 0; // bytes of pieces[head] already written
  private bytes = 0;
  private scheduled = false;
  private waiters: Array<() => void> = [];
  protected dead = false;

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
    if (!this.scheduled && !this.blocked()) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /** Write as much as the other end accepts. */
  abstract flush(): void;

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

  /** Waiting for the socket to say it is writable: a push then does not flush. */
  protected blocked(): boolean {
    return false;
  }

  /** `n` more bytes left, from the first unsent piece on. */
  protected consume(n: number): void {
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

  /** After a flush: wake the waiters when all is sent, else drop sent slots so they (and their buffers) can go. */
  protected settle(): void {
    if (this.dead) return;
    if (this.head >= this.pieces.length) {
      this.pieces = [];
      this.head = this.offset = 0;
      this.wake();
    } else if (this.head >= COMPACT_AFTER) {
      this.pieces = this.pieces.slice(this.head);
      this.head = 0;
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

export class SendQueue extends PieceQueue {
  private staging: Uint8Array | undefined;

  /** `write` returns how many bytes the OS took (0..n), or -1 if the pipe is closed. It must not keep `data`. */
  constructor(private readonly write: (data: Uint8Array) => number) {
    super();
  }

  /** Write as much as the OS accepts; call again on `drain`. */
  flush(): void {
    while (!this.dead && this.head < this.pieces.length) {
      const chunk = this.nextChunk();
      const n = this.write(chunk);
      if (n < 0) {
        this.kill();
        return;
      }
      this.consume(n);
      if (n < chunk.length) break; // the OS is full; wait for drain
    }
    this.settle();
  }

  override kill(): void {
    this.staging = undefined;
    super.kill();
  }

  /**
   * The next bytes to hand to the OS: a large piece as it is, or the run of small pieces that follows,
   * copied into the staging buffer. What the OS does not take is gathered again on the next call.
   */
  private nextChunk(): Uint8Array {
    const pieces = this.pieces;
    const firstPiece = pieces[this.head]!;
    const first = this.offset === 0 ? firstPiece : firstPiece.subarray(this.offset);
    if (first.length >= DIRECT_BYTES || this.head + 1 >= pieces.length) return first;
    let total = first.length;
    let end = this.head + 1;
    while (end < pieces.length) {
      const len = pieces[end]!.length;
      if (len >= DIRECT_BYTES || total + len > STAGING_BYTES) break;
      total += len;
      end++;
    }
    if (end === this.head + 1) return first;
    const out = (this.staging ??= new Uint8Array(STAGING_BYTES));
    out.set(first, 0);
    let at = first.length;
    for (let i = this.head + 1; i < end; i++) {
      out.set(pieces[i]!, at);
      at += pieces[i]!.length;
    }
    return out.subarray(0, total);
  }
}
