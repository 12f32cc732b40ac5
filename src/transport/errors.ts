// The transport's one error class: the pipe could not be opened or was lost. Its `code` is the error
// catalogue's TRANSPORT, so layers above map it without importing this leaf's class.

export class TransportError extends Error {
  readonly code = "TRANSPORT";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TransportError";
  }
}
