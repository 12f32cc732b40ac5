// In-memory transport pair for tests and benchmarks: what one side sends, the other receives, asynchronously.
import type { Transport, TransportHandlers } from "./types.ts";

class MemoryEnd implements Transport {
  other!: MemoryEnd;
  private handlers: TransportHandlers | undefined;
  private early: Uint8Array[] = [];
  private closeReport: { error?: Error } | undefined;
  closed = false;
  readonly queuedBytes = 0;
  constructor(readonly peer: string) {}

  send(pieces: readonly Uint8Array[]): void {
    if (this.closed) return;
    let total = 0;
    for (const p of pieces) total += p.length;
    const chunk = new Uint8Array(total);
    let at = 0;
    for (const p of pieces) {
      chunk.set(p, at);
      at += p.length;
    }
    const other = this.other;
    queueMicrotask(() => other.deliver(chunk));
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  attach(handlers: TransportHandlers): void {
    this.handlers = handlers;
    for (const c of this.early) handlers.data(c);
    this.early = [];
    if (this.closeReport) handlers.close(this.closeReport.error);
  }

  close(): void {
    this.shut();
    queueMicrotask(() => this.other.shut());
  }

  deliver(chunk: Uint8Array): void {
    if (this.closed || chunk.length === 0) return;
    if (this.handlers) this.handlers.data(chunk);
    else this.early.push(chunk);
  }

  shut(error?: Error): void {
    if (this.closeReport) return;
    this.closed = true;
    this.closeReport = error ? { error } : {};
    this.handlers?.close(error);
  }
}

/** Two connected ends: [initiator side, target side]. */
export function memoryPair(): [Transport, Transport] {
  const a = new MemoryEnd("memory:target");
  const b = new MemoryEnd("memory:initiator");
  a.other = b;
  b.other = a;
  return [a, b];
}
