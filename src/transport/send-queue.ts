// Ordered send queue over a writer that may accept only part of a buffer (Bun's socket.write returns
// the count written and does NOT queue the rest: design.md §2). Pieces queued in the same tick leave in as
// few system calls as possible: small ones (PDU headers, 8 KiB Data-Out segments) are gathered into one
// staging buffer that is allocated once and reused; large ones are written straight from the caller's memory.

/** Size of the reusable staging buffer: the most one gathered write carries. */
const STAGING_BYTES = 256 * 1024;
/** Pieces at least this large are written in place: a system call costs less than copying them. */
const DIRECT_BYTES = 64 * 1024;
/** Consumed slots are dropped from the front of the piece list once there are this many. */
const COMPACT_AFTER = 1024;

export class SendQueue {
  private pieces: Uint8Array[] = [];
  private head = 0; // index of the first unsent piece
  private offset = 0; // bytes of pieces[head] already written
  private bytes = 0;
  private scheduled = false;
  private waiters: Array<() => void> = [];
  private dead = false;
  private staging: Uint8Array | undefined;

  /** `write` returns how many bytes the OS took (0..n), or -1 if the pipe is closed. It must not keep `data`. */
  constructor(private readonly write: (data: Uint8Array) => number) {}

  get queuedBytes(): number {
    return this.bytes;
  }

  push(pieces: readonly Uint8Array[]): void {
    if (this.dead) return;
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
    if (this.head >= this.pieces.length) {
      this.pieces = [];
      this.head = 0;
      this.offset = 0;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    } else if (this.head >= COMPACT_AFTER) {
      // Under steady backpressure the list never empties: drop sent slots so they (and their buffers) can go.
      this.pieces = this.pieces.slice(this.head);
      this.head = 0;
    }
  }

  drained(): Promise<void> {
    if (this.bytes === 0 || this.dead) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  kill(): void {
    this.dead = true;
    this.pieces = [];
    this.head = 0;
    this.offset = 0;
    this.bytes = 0;
    this.staging = undefined;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
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

  private consume(n: number): void {
    this.bytes -= n;
    while (n > 0) {
      const p = this.pieces[this.head]!;
      const left = p.length - this.offset;
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
}
