// The one error class of the PDU codec (RFC 7143 §11, §7.8): a stable `code` the upper layers map onto
// the shared catalogue in src/contract/errors.ts, which this leaf module must not import.

export type PduErrorCode = "PROTOCOL" | "DIGEST";

/** A malformed, oversized, misdirected or corrupted PDU. The message names the PDU, the field and the values. */
export class PduError extends Error {
  readonly code: PduErrorCode;
  constructor(code: PduErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PduError";
    this.code = code;
  }
}
