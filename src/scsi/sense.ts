// Decodes sense data in fixed (70h/71h) and descriptor (72h/73h) format (SPC-4 §4.5) and unwraps the
// SenseLength prefix iSCSI puts before it in a SCSI Response data segment (RFC 7143 §11.4.7).
//
// Rule: sense is read on the failure path, so decoding is lenient. It throws ScsiFormatError only when not
// even the response code and sense key are there; anything missing after that (ASC/ASCQ, INFORMATION,
// descriptors cut short) is left out, asc/ascq read 0, and `truncated` is set.
import { ascqText } from "./asc.ts";
import { viewOf } from "./bytes.ts";
import { ScsiFormatError } from "./errors.ts";
import type { Sense } from "./sense-types.ts";
import { SenseKey, hexByte, senseKeyName } from "./status.ts";

const COMMAND = "sense data";
const FIXED_ASCQ_END = 14; // ASC is byte 12, ASCQ byte 13
const FIXED_SKS = 15; // sense-key specific bytes 15..17
const DESCRIPTOR_INFORMATION = 0x00;
const DESCRIPTOR_SENSE_KEY_SPECIFIC = 0x02;
const DESCRIPTOR_BLOCK_COMMANDS = 0x05;

export function decodeSense(bytes: Uint8Array): Sense {
  if (bytes.length === 0) throw new ScsiFormatError(COMMAND, "no bytes to decode");
  const responseCode = bytes[0]! & 0x7f;
  if (responseCode === 0x70 || responseCode === 0x71) return decodeFixed(bytes, responseCode);
  if (responseCode === 0x72 || responseCode === 0x73) return decodeDescriptor(bytes, responseCode);
  throw new ScsiFormatError(COMMAND, `RESPONSE CODE 0x${hexByte(responseCode)} is neither fixed nor descriptor format`);
}

function base(format: Sense["format"], responseCode: number, senseKey: number, asc: number, ascq: number): Sense {
  return {
    format,
    responseCode,
    deferred: responseCode === 0x71 || responseCode === 0x73,
    senseKey,
    senseKeyName: senseKeyName(senseKey),
    asc,
    ascq,
    ascqText: ascqText(asc, ascq),
    ili: false,
    descriptors: [],
    truncated: false,
  };
}

function decodeFixed(bytes: Uint8Array, responseCode: number): Sense {
  if (bytes.length < 3) throw new ScsiFormatError(COMMAND, `fixed format SENSE KEY needs 3 bytes, got ${bytes.length}`);
  const view = viewOf(bytes);
  // ADDITIONAL SENSE LENGTH (byte 7) bounds everything after byte 7; without it the sense is cut short.
  const declaredEnd = bytes.length >= 8 ? 8 + view.getUint8(7) : Number.POSITIVE_INFINITY;
  const end = Math.min(declaredEnd, bytes.length);
  const hasAscq = end >= FIXED_ASCQ_END;
  const sense = base(
    "fixed",
    responseCode,
    view.getUint8(2) & 0x0f,
    hasAscq ? view.getUint8(12) : 0,
    hasAscq ? view.getUint8(13) : 0,
  );
  sense.truncated = !hasAscq || declaredEnd > bytes.length;
  sense.ili = (view.getUint8(2) & 0x20) !== 0;
  if ((view.getUint8(0) & 0x80) !== 0 && end >= 7) sense.information = BigInt(view.getUint32(3));
  if (end >= FIXED_SKS + 3) decodeSenseKeySpecific(sense, bytes.subarray(FIXED_SKS, FIXED_SKS + 3));
  return sense;
}

function decodeDescriptor(bytes: Uint8Array, responseCode: number): Sense {
  if (bytes.length < 2)
    throw new ScsiFormatError(COMMAND, `descriptor format SENSE KEY needs 2 bytes, got ${bytes.length}`);
  const hasAscq = bytes.length >= 4;
  const sense = base("descriptor", responseCode, bytes[1]! & 0x0f, hasAscq ? bytes[2]! : 0, hasAscq ? bytes[3]! : 0);
  if (bytes.length < 8) {
    sense.truncated = true;
    return sense;
  }
  const declaredEnd = 8 + bytes[7]!;
  const end = Math.min(declaredEnd, bytes.length);
  sense.truncated = declaredEnd > bytes.length;
  let offset = 8;
  while (offset + 2 <= end) {
    const size = 2 + bytes[offset + 1]!;
    if (offset + size > end) {
      sense.truncated = true;
      break;
    }
    const data = bytes.slice(offset, offset + size);
    sense.descriptors.push({ type: data[0]!, data });
    decodeSenseDescriptor(sense, data);
    offset += size;
  }
  return sense;
}

// Descriptor layouts: SPC-4 §4.5.2.2 (information), §4.5.2.4 (sense key specific), SBC-3 block commands.
function decodeSenseDescriptor(sense: Sense, data: Uint8Array): void {
  const view = viewOf(data);
  if (data[0] === DESCRIPTOR_INFORMATION && data.length >= 12 && (data[2]! & 0x80) !== 0) {
    sense.information = view.getBigUint64(4);
  } else if (data[0] === DESCRIPTOR_SENSE_KEY_SPECIFIC && data.length >= 7) {
    decodeSenseKeySpecific(sense, data.subarray(4, 7));
  } else if (data[0] === DESCRIPTOR_BLOCK_COMMANDS && data.length >= 4) {
    sense.ili = (data[3]! & 0x20) !== 0;
  }
}

// The three sense-key specific bytes mean what the sense key says (SPC-4 §4.5.2.4); SKSV marks them valid.
function decodeSenseKeySpecific(sense: Sense, sks: Uint8Array): void {
  const flags = sks[0]!;
  if ((flags & 0x80) === 0) return;
  const value = (sks[1]! << 8) | sks[2]!;
  if (sense.senseKey === SenseKey.IllegalRequest) {
    sense.fieldPointer = { commandData: (flags & 0x40) !== 0, byte: value };
    if ((flags & 0x08) !== 0) sense.fieldPointer.bit = flags & 0x07;
  } else if (sense.senseKey === SenseKey.NotReady || sense.senseKey === SenseKey.NoSense) {
    sense.progress = value;
  }
}

/**
 * The sense bytes of a SCSI Response data segment: a 2-byte big-endian SenseLength, then the sense
 * (RFC 7143 §11.4.7.2). An empty segment carries no sense and yields an empty array. Returns a copy.
 */
export function senseDataFromIscsi(data: Uint8Array): Uint8Array {
  if (data.length === 0) return new Uint8Array(0);
  if (data.length < 2)
    throw new ScsiFormatError("SCSI Response", `data segment of ${data.length} byte cannot hold SenseLength`);
  const senseLength = viewOf(data).getUint16(0);
  if (senseLength > data.length - 2) {
    throw new ScsiFormatError(
      "SCSI Response",
      `SenseLength ${senseLength} exceeds the ${data.length - 2} bytes after it`,
    );
  }
  return data.slice(2, 2 + senseLength);
}
