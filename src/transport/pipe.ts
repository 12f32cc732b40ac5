// What every transport shares: the send queue behind send/drained/queuedBytes, chunks kept until the receiver
// attaches, and one close report. Subclasses bring the socket (or memory) and the queue that writes to it.
import type { PieceQueue } from "./send-queue.ts";
import type { Transport, TransportHandlers } from "./types.ts";

export abstract class Pipe implements Transport {
  private handlers: TransportHandlers | undefined;
  private early: Uint8Array[] = [];
  private closeReport: { error?: Error } | undefined;
  protected abstract readonly queue: PieceQueue;
  closed = false;

  constructor(readonly peer: string) {}

  get queuedBytes(): number {
    return this.queue.queuedBytes;
  }

  send(pieces: readonly Uint8Array[]): void {
    if (!this.closed) this.queue.push(pieces);
  }

  drained(): Promise<void> {
    return this.queue.drained();
  }

  attach(handlers: TransportHandlers): void {
    this.handlers = handlers;
    for (const chunk of this.early) handlers.data(chunk);
    this.early = [];
    if (this.closeReport) handlers.close(this.closeReport.error);
  }

  abstract close(): void;

  /** The attached receiver, once there is one. */
  protected get receiver(): TransportHandlers | undefined {
    return this.handlers;
  }

  /** Hand a chunk (the receiver's to keep) on, or keep it until `attach`; false when kept. */
  protected deliver(chunk: Uint8Array): boolean {
    if (this.closed) return false;
    if (this.handlers) {
      this.handlers.data(chunk);
      return true;
    }
    this.early.push(chunk);
    return false;
  }

  /** The pipe is gone: once only, the queue dropped, `release` run, then the receiver told. */
  protected shut(error?: Error, release?: () => void): void {
    if (this.closeReport) return;
    this.closed = true;
    this.closeReport = error ? { error } : {};
    this.queue.kill();
    release?.();
    this.handlers?.close(error);
  }
}
