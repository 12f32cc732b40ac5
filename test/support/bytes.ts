// Byte helpers the tests share: joining pieces, hex fixtures, and feeding a parser every prefix of a fixture.
import { expect } from "bun:test";
import { ScsiFormatError } from "../../src/scsi/errors.ts";

/** The pieces one after another in one new buffer. */
export function concat(pieces: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of pieces) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Bytes from hex pairs separated by white space ("00 01 ff"), as SPC and the RFCs print fixtures. */
export const hex = (text: string) => Uint8Array.from(text.split(/\s+/).filter(Boolean), (b) => parseInt(b, 16));

/** Every prefix of `full`: shorter than `minimum` must throw `error` (a SCSI parser's by default), the rest parse and pass `check`. */
export function everyPrefix<T>(
  full: Uint8Array,
  minimum: number,
  parse: (b: Uint8Array) => T,
  check: (result: T, n: number) => void,
  error: new (...args: never[]) => Error = ScsiFormatError,
): void {
  for (let n = 0; n <= full.length; n++) {
    const prefix = full.slice(0, n);
    if (n < minimum) expect(() => parse(prefix)).toThrow(error);
    else check(parse(prefix), n);
  }
}
