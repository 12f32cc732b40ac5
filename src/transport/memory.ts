// An in-memory transport pair: what one end sends, the other receives, in the microtask after the send, through
// the same send queue and close report as the TCP transports. Session tests give one end to a session
// (OpenOptions.connect) and the other to a scripted target, so protocol-only questions need no socket.
import { Pipe } from "./pipe.ts";
import { PieceQueue } from "./send-queue.ts";
import type { Transport } from "./types.ts";

/** Hands everything queued to the other end in one chunk (a copy: the sender keeps its pieces). */
class MemoryQueue extends PieceQueue {
  constructor(private readonly end: MemoryEnd) {
    super();
  }

  flush(): void {
    if (this.dead || this.head >= this.pieces.length) return this.settle();
    let total = 0;
    for (let i = this.head; i < this.pieces.length; i++)
      total += this.pieces[i]!.length - (i === this.head ? this.offset : 0);
    const chunk = new Uint8Array(total);
    let at = 0;
    for (let i = this.head; i < this.pieces.length; i++) {
      const piece = i === this.head ? this.pieces[i]!.subarray(this.offset) : this.pieces[i]!;
      chunk.set(piece, at);
      at += piece.length;
    }
    this.consume(total);
    this.settle();
    this.end.other.receive(chunk);
  }
}

class MemoryEnd extends Pipe {
  other!: MemoryEnd;
  protected readonly queue: PieceQueue = new MemoryQueue(this);

  close(): void {
    this.shut();
    queueMicrotask(() => this.other.shut());
  }

  receive(chunk: Uint8Array): void {
    this.deliver(chunk);
  }

  /** The end is gone, from either side; `error` reaches this end's receiver. */
  override shut(error?: Error): void {
    super.shut(error);
  }
}

/** Two connected ends: [initiator side, target side]. */
export function memoryPair(peer = "memory:target"): [Transport, Transport] {
  const a = new MemoryEnd(peer);
  const b = new MemoryEnd("memory:initiator");
  a.other = b;
  b.other = a;
  return [a, b];
}
