// Ordered send queue over a writer that may accept only part of a buffer (Bun's socket.write returns
// the count written and does NOT queue the rest: design.md §2). Small pieces queued in the same tick
// are coalesced into one write so a PDU header and its data leave in one system call.

const COALESCE_LIMIT = 256 * 1024;

export class SendQueue {
  private pieces: Uint8Array[] = [];
  private head = 0; // index of the first unsent piece
  private offset = 0; // bytes of pieces[head] already written
  private bytes = 0;
  private scheduled = false;
  private waiters: Array<() => void> = [];
  private dead = false;

  /** `write` returns how many bytes the OS took (0..n), or -1 if the pipe is closed. */
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
      if (n < chunk.length) return; // the OS is full; wait for drain
    }
    if (this.head >= this.pieces.length) {
      this.pieces = [];
      this.head = 0;
      this.offset = 0;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
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
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** The next bytes to hand to the OS: several small pieces gathered into one buffer, or one big piece. */
  private nextChunk(): Uint8Array {
    const first = this.pieces[this.head]!.subarray(this.offset);
    if (first.length >= COALESCE_LIMIT || this.head + 1 >= this.pieces.length) return first;
    let total = first.length;
    let end = this.head + 1;
    while (end < this.pieces.length && total + this.pieces[end]!.length <= COALESCE_LIMIT) {
      total += this.pieces[end]!.length;
      end++;
    }
    if (end === this.head + 1) return first;
    const out = new Uint8Array(total);
    out.set(first, 0);
    let at = first.length;
    for (let i = this.head + 1; i < end; i++) {
      out.set(this.pieces[i]!, at);
      at += this.pieces[i]!.length;
    }
    return out;
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
