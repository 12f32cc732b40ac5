// Block-range locks for writes: a read-modify-write of a partial block must not interleave with any other
// write touching that block, or one of them would silently undo the other.

interface Held {
  start: number;
  end: number; // exclusive
  released: Promise<void>;
}

export class RangeLocks {
  private readonly held = new Set<Held>();
  /** How often an acquire had to wait for an overlapping range (shows that writes met). */
  waits = 0;

  /** Waits until no held range overlaps [start, end), takes it, and returns its release. */
  async acquire(start: number, end: number): Promise<() => void> {
    for (;;) {
      let blocker: Held | undefined;
      for (const h of this.held) {
        if (h.start < end && start < h.end) {
          blocker = h;
          break;
        }
      }
      if (!blocker) break;
      this.waits++;
      await blocker.released;
    }
    let release!: () => void;
    const entry: Held = { start, end, released: new Promise<void>((r) => (release = r)) };
    this.held.add(entry);
    return () => {
      this.held.delete(entry);
      release();
    };
  }

  get size(): number {
    return this.held.size;
  }
}
