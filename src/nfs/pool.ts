// Reused buffers for records and replies near the 1 MiB I/O size. A fresh large buffer costs a page fault per
// 4 KiB on first touch, which made every MiB moved cost more than the copy itself; reused ones do not.

export class BufferPool {
  private readonly free: ArrayBuffer[] = [];

  /** Buffers of `size` bytes, at most `max` kept. */
  constructor(
    readonly size: number,
    private readonly max: number,
  ) {}

  /** `n` bytes: a pooled buffer's first n when n fits, else a fresh one. Contents are not cleared. */
  take(n: number): Uint8Array {
    if (n > this.size) return new Uint8Array(n);
    return new Uint8Array(this.free.pop() ?? new ArrayBuffer(this.size), 0, n);
  }

  /** Hands back a buffer from take() that nothing uses any more; others are left to the collector. */
  give(b: Uint8Array): void {
    if (b.buffer instanceof ArrayBuffer && b.buffer.byteLength === this.size && this.free.length < this.max)
      this.free.push(b.buffer);
  }

  get pooled(): number {
    return this.free.length;
  }
}
