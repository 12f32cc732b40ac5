// The byte pipe under a connection: TCP in production, an in-memory pair in tests and benchmarks.

export interface TransportHandlers {
  /**
   * Bytes from the peer. The chunk is the receiver's to keep (never reused by the transport), unless `lent`:
   * then its memory is reused once this call returns, and the receiver copies whatever it keeps.
   */
  data(chunk: Uint8Array, lent?: boolean): void;
  /**
   * Optional, for transports that read on request (native.ts): where the next bytes of the stream belong, if
   * the receiver knows: `rest`, the unfilled part of a data segment of `segmentLength` bytes (a Data-In
   * segment's destination). Asked before every read.
   */
  placement?(): { rest: Uint8Array; segmentLength: number } | undefined;
  /** `n` bytes (1..its length) were read straight into the start of the `rest` that `placement()` just returned. */
  placed?(n: number): void;
  /** The pipe is gone: peer FIN/RST, local close, or an error (then `error` is set). Called once. */
  close(error?: Error): void;
}

export interface Transport {
  /** Queue bytes for sending, in order. Pieces are not copied until written; don't change them after. */
  send(pieces: readonly Uint8Array[]): void;
  /** Bytes queued but not yet accepted by the OS. */
  readonly queuedBytes: number;
  /** Resolves when the send queue is empty (or the transport closed). */
  drained(): Promise<void>;
  /** Install handlers; chunks that arrived before are delivered at once. */
  attach(handlers: TransportHandlers): void;
  /** Close now; queued bytes may be lost. */
  close(): void;
  readonly closed: boolean;
  /** "host:port" of the peer, for messages. */
  readonly peer: string;
  /** The address our end is bound to, where the transport knows it (a network change may take it away). */
  readonly localAddress?: string | undefined;
}
