// BHS fields as data: a PDU type's opcode-specific fields listed once, as RFC 7143 §11 draws them (name, byte
// offset, width), and one writer and one reader that walk the list. Used by the PDUs off the I/O path; the
// SCSI Command, Data-In/Out, R2T and SCSI Response codecs stay written out for speed.
import { beginBhs, beginDecode, type BhsView } from "./bhs.ts";
import { BHS_LENGTH, type Fields, type Pdu } from "./types.ts";

type Width = "u8" | "u16" | "u32" | "u64";
/** One field: its name in the PDU record, its byte offset in the BHS, its width. */
export type FieldSpec = readonly [name: string, at: number, width: Width];

/** The record a layout reads: each named field as a number, or a bigint for 64-bit ones (LUN). */
export type LayoutFields<L extends readonly FieldSpec[]> = {
  [S in L[number] as S[0]]: S[2] extends "u64" ? bigint : number;
};

/** Write each field of `layout` from `f` into the BHS behind `v` (bytes 0–7 already written by beginBhs). */
export function writeFields<const L extends readonly FieldSpec[]>(v: BhsView, f: LayoutFields<L>, layout: L): void {
  const values = f as Record<string, number | bigint>;
  for (const [name, at, width] of layout) {
    const value = values[name]!;
    if (width === "u64") v.setBigUint64(at, value as bigint);
    else if (width === "u32") v.setUint32(at, value as number);
    else if (width === "u16") v.setUint16(at, value as number);
    else v.setUint8(at, value as number);
  }
}

/** Read each field of `layout` from the BHS behind `v`. */
export function readFields<const L extends readonly FieldSpec[]>(v: BhsView, layout: L): LayoutFields<L> {
  const out: Record<string, number | bigint> = {};
  for (const [name, at, width] of layout) {
    out[name] =
      width === "u64"
        ? v.getBigUint64(at)
        : width === "u32"
          ? v.getUint32(at)
          : width === "u16"
            ? v.getUint16(at)
            : v.getUint8(at);
  }
  return out as LayoutFields<L>;
}

/** What a PDU type keeps in byte 1 (and beyond the layout): how to write it from the fields and read it back. */
export interface Byte1<P extends Pdu> {
  write(f: Fields<P>): number;
  read(bhs: Uint8Array): Partial<P>;
}

/** A fixed byte 1 (the F bit alone, for most responses) with nothing to read back. */
export const fixedByte1 = <P extends Pdu>(value: number): Byte1<P> => ({ write: () => value, read: () => ({}) });

/**
 * The encoder and decoder of a PDU type whose opcode-specific fields are all in `layout` (plus byte 1): one
 * pair written once instead of one per type. RFC 7143 §11.2 bytes 0–7 are beginBhs's and beginDecode's job.
 */
export function layoutCodec<P extends Pdu>(
  opcode: P["opcode"],
  layout: readonly (readonly [name: keyof P & string, at: number, width: Width])[],
  byte1: Byte1<P>,
) {
  return {
    encode(f: Fields<P>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
      writeFields(beginBhs(out, opcode, byte1.write(f), f), f as never, layout);
      return out;
    },
    decode(bhs: Uint8Array): P {
      const { view, common } = beginDecode(bhs, opcode);
      // The layout names every field of P beyond the common ones and byte 1 (test/pdu/codec.test.ts round-trips each).
      return { ...common, ...byte1.read(bhs), ...readFields(view, layout) } as unknown as P;
    },
  };
}
