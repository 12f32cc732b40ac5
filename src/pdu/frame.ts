// Outgoing PDU framing, RFC 7143 §11.2 and §13.1: BHS, AHS, header digest, data segment, padding, data digest.

import { dataSegmentLengthOf } from "./bhs.ts";
import { crc32c, writeDigest } from "./crc32c.ts";
import { PduError } from "./errors.ts";
import { BHS_LENGTH } from "./types.ts";

export interface DigestOptions {
  headerDigest: boolean;
  dataDigest: boolean;
}

// Shared padding source; nothing ever writes to it, so handing out views of it is safe.
const ZERO_PAD = new Uint8Array(3);

/**
 * The wire pieces of one PDU, in order: [BHS+AHS (+header digest)], [data as given, not copied],
 * [zero padding to 4 bytes (+ data digest over data and padding)]. Empty pieces are omitted. The first piece
 * is `bhs` itself when there is neither AHS nor header digest; padding without digest is a shared read-only view.
 * TotalAHSLength and DataSegmentLength in `bhs` must match `ahs` and `data`.
 */
export function framePdu(
  bhs: Uint8Array,
  data: Uint8Array | undefined,
  opts: DigestOptions,
  ahs?: Uint8Array,
): Uint8Array[] {
  if (bhs.length < BHS_LENGTH) throw new PduError("PROTOCOL", `framePdu: BHS of ${bhs.length} bytes < 48`);
  const ahsLength = ahs?.length ?? 0;
  const dataLength = data?.length ?? 0;
  // The peer trusts these two fields to find the next PDU; a mismatch would desynchronise the stream.
  if (bhs[4]! * 4 !== ahsLength)
    throw new PduError("PROTOCOL", `framePdu: TotalAHSLength ${bhs[4]} words != AHS of ${ahsLength} bytes`);
  if (dataSegmentLengthOf(bhs) !== dataLength) {
    throw new PduError(
      "PROTOCOL",
      `framePdu: DataSegmentLength ${dataSegmentLengthOf(bhs)} != data of ${dataLength} bytes`,
    );
  }

  const pieces: Uint8Array[] = [];
  if (ahsLength === 0 && !opts.headerDigest) {
    pieces.push(bhs.length === BHS_LENGTH ? bhs : bhs.subarray(0, BHS_LENGTH));
  } else {
    const headerLength = BHS_LENGTH + ahsLength;
    const header = new Uint8Array(headerLength + (opts.headerDigest ? 4 : 0));
    header.set(bhs.subarray(0, BHS_LENGTH));
    if (ahs) header.set(ahs, BHS_LENGTH);
    // RFC 7143 §11.2.3: the header digest covers BHS and AHS.
    if (opts.headerDigest) writeDigest(header, headerLength, crc32c(header.subarray(0, headerLength)));
    pieces.push(header);
  }
  if (!data || dataLength === 0) return pieces;

  pieces.push(data);
  const pad = -dataLength & 3;
  if (opts.dataDigest) {
    // RFC 7143 §13.1: padding bytes are zero and included in the CRC.
    const tail = new Uint8Array(pad + 4);
    writeDigest(tail, pad, crc32c(ZERO_PAD.subarray(0, pad), crc32c(data)));
    pieces.push(tail);
  } else if (pad > 0) {
    pieces.push(ZERO_PAD.subarray(0, pad));
  }
  return pieces;
}
