// Bounds-checked reading shared by the response parsers, including the SPC-4 §4.2.5.6 allocation-length rule.
import { ScsiFormatError } from "./errors.ts";

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Throws ScsiFormatError unless `bytes` holds the `length` bytes that `what` needs. */
export function requireLength(bytes: Uint8Array, length: number, command: string, what: string): void {
  if (bytes.length < length) {
    throw new ScsiFormatError(command, `${what} needs ${length} bytes, got ${bytes.length}`);
  }
}

/**
 * The part of a response that the target declared (by a length field) and that arrived. A declared length
 * beyond what arrived is normal: the device server stops at our ALLOCATION LENGTH (SPC-4 §4.2.5.6), so the
 * parsers decode what arrived and report `truncated`; a field running past the declared length is malformed.
 */
export class Extent {
  readonly end: number;
  readonly truncated: boolean;
  constructor(
    readonly command: string,
    readonly declaredEnd: number,
    received: number,
  ) {
    this.end = Math.min(declaredEnd, received);
    this.truncated = declaredEnd > received;
  }

  /** Whether [offset, offset+size) arrived within the declared length. */
  has(offset: number, size: number): boolean {
    return offset + size <= this.end;
  }

  /** Like `has`, but a `what` running past the declared length is a ScsiFormatError, not a truncation. */
  fits(offset: number, size: number, what: string): boolean {
    if (offset + size > this.declaredEnd) {
      throw new ScsiFormatError(
        this.command,
        `${what} at byte ${offset} (${size} bytes) runs past the declared length of ${this.declaredEnd} bytes`,
      );
    }
    return offset + size <= this.end;
  }
}

/** Printable ASCII with padding (spaces, NULs) trimmed; other bytes become spaces. */
export function ascii(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  for (const byte of bytes.subarray(start, end)) text += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : " ";
  return text.trim();
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
