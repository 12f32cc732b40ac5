// SCSI Command, SCSI Response, Data-Out, Data-In and R2T PDUs, RFC 7143 §11.3, §11.4, §11.7 and §11.8.

import { bit, beginBhs, beginDecode } from "./bhs.ts";
import { PduError } from "./errors.ts";
import {
  BHS_LENGTH,
  Opcode,
  type DataIn,
  type DataOut,
  type Fields,
  type R2T,
  type ScsiCommand,
  type ScsiResponse,
} from "./types.ts";

/** Bytes of CDB the BHS holds (RFC 7143 §11.3.5); the rest travels in an Extended CDB AHS. */
const BHS_CDB_LENGTH = 16;

/**
 * SCSI Command, RFC 7143 §11.3. Byte 1 is F R W . . ATTR(3). A CDB longer than 16 bytes needs its
 * Extended CDB AHS (see encodeExtendedCdbAhs) counted in totalAHSLength; only the first 16 bytes go here.
 */
export function encodeScsiCommand(f: Fields<ScsiCommand>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  if (f.cdb.length > BHS_CDB_LENGTH && !f.totalAHSLength) {
    throw new PduError("PROTOCOL", `SCSI Command: CDB of ${f.cdb.length} bytes > 16 without an Extended CDB AHS`);
  }
  const byte1 = (f.final ? 0x80 : 0) | (f.read ? 0x40 : 0) | (f.write ? 0x20 : 0) | (f.attr & 0x07);
  const v = beginBhs(out, Opcode.ScsiCommand, byte1, f);
  v.setBigUint64(8, f.lun);
  v.setUint32(16, f.itt);
  v.setUint32(20, f.expectedDataTransferLength);
  v.setUint32(24, f.cmdSN);
  v.setUint32(28, f.expStatSN);
  out.set(f.cdb.length > BHS_CDB_LENGTH ? f.cdb.subarray(0, BHS_CDB_LENGTH) : f.cdb, 32);
  return out;
}

/** The 16 CDB bytes are copied out, so the result does not alias `bhs`. */
export function decodeScsiCommand(bhs: Uint8Array): ScsiCommand {
  const { view: v, common } = beginDecode(bhs, Opcode.ScsiCommand);
  return {
    ...common,
    final: bit(bhs, 0x80),
    read: bit(bhs, 0x40),
    write: bit(bhs, 0x20),
    attr: bhs[1]! & 0x07,
    lun: v.getBigUint64(8),
    itt: v.getUint32(16),
    expectedDataTransferLength: v.getUint32(20),
    cmdSN: v.getUint32(24),
    expStatSN: v.getUint32(28),
    cdb: bhs.slice(32, 48),
  };
}

/**
 * The Extended CDB AHS for a CDB longer than 16 bytes (RFC 7143 §11.2.2.3): AHSLength = CDB length − 15
 * (the reserved byte counts), AHSType 1, then CDB bytes 16.. padded to a 4-byte boundary.
 */
export function encodeExtendedCdbAhs(cdb: Uint8Array): Uint8Array {
  const rest = cdb.length - BHS_CDB_LENGTH;
  if (rest <= 0) throw new PduError("PROTOCOL", `Extended CDB AHS: CDB of ${cdb.length} bytes needs none`);
  const ahs = new Uint8Array((4 + rest + 3) & ~3);
  new DataView(ahs.buffer).setUint16(0, rest + 1);
  ahs[2] = 0x01;
  ahs.set(cdb.subarray(BHS_CDB_LENGTH), 4);
  return ahs;
}

/** SCSI Response, RFC 7143 §11.4. Byte 1 is 1 . . o u O U . */
export function encodeScsiResponse(f: Fields<ScsiResponse>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  const byte1 =
    0x80 |
    (f.bidiReadResidualOverflow ? 0x10 : 0) |
    (f.bidiReadResidualUnderflow ? 0x08 : 0) |
    (f.residualOverflow ? 0x04 : 0) |
    (f.residualUnderflow ? 0x02 : 0);
  const v = beginBhs(out, Opcode.ScsiResponse, byte1, f);
  out[2] = f.response;
  out[3] = f.status;
  v.setUint32(16, f.itt);
  v.setUint32(20, f.snackTag);
  v.setUint32(24, f.statSN);
  v.setUint32(28, f.expCmdSN);
  v.setUint32(32, f.maxCmdSN);
  v.setUint32(36, f.expDataSN);
  v.setUint32(40, f.bidirectionalReadResidualCount);
  v.setUint32(44, f.residualCount);
  return out;
}

export function decodeScsiResponse(bhs: Uint8Array): ScsiResponse {
  const { view: v, common } = beginDecode(bhs, Opcode.ScsiResponse);
  return {
    ...common,
    bidiReadResidualOverflow: bit(bhs, 0x10),
    bidiReadResidualUnderflow: bit(bhs, 0x08),
    residualOverflow: bit(bhs, 0x04),
    residualUnderflow: bit(bhs, 0x02),
    response: bhs[2]!,
    status: bhs[3]!,
    itt: v.getUint32(16),
    snackTag: v.getUint32(20),
    statSN: v.getUint32(24),
    expCmdSN: v.getUint32(28),
    maxCmdSN: v.getUint32(32),
    expDataSN: v.getUint32(36),
    bidirectionalReadResidualCount: v.getUint32(40),
    residualCount: v.getUint32(44),
  };
}

/** SCSI Data-Out, RFC 7143 §11.7.1. Byte 1 is F followed by reserved bits. */
export function encodeDataOut(f: Fields<DataOut>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  const v = beginBhs(out, Opcode.DataOut, f.final ? 0x80 : 0, f);
  v.setBigUint64(8, f.lun);
  v.setUint32(16, f.itt);
  v.setUint32(20, f.ttt);
  v.setUint32(28, f.expStatSN);
  v.setUint32(36, f.dataSN);
  v.setUint32(40, f.bufferOffset);
  return out;
}

export function decodeDataOut(bhs: Uint8Array): DataOut {
  const { view: v, common } = beginDecode(bhs, Opcode.DataOut);
  return {
    ...common,
    final: bit(bhs, 0x80),
    lun: v.getBigUint64(8),
    itt: v.getUint32(16),
    ttt: v.getUint32(20),
    expStatSN: v.getUint32(28),
    dataSN: v.getUint32(36),
    bufferOffset: v.getUint32(40),
  };
}

/** SCSI Data-In, RFC 7143 §11.7.2. Byte 1 is F A 0 0 0 O U S; byte 3 is Status (valid only with S). */
export function encodeDataIn(f: Fields<DataIn>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  const byte1 =
    (f.final ? 0x80 : 0) |
    (f.acknowledge ? 0x40 : 0) |
    (f.residualOverflow ? 0x04 : 0) |
    (f.residualUnderflow ? 0x02 : 0) |
    (f.statusPresent ? 0x01 : 0);
  const v = beginBhs(out, Opcode.DataIn, byte1, f);
  out[3] = f.status;
  v.setBigUint64(8, f.lun);
  v.setUint32(16, f.itt);
  v.setUint32(20, f.ttt);
  v.setUint32(24, f.statSN);
  v.setUint32(28, f.expCmdSN);
  v.setUint32(32, f.maxCmdSN);
  v.setUint32(36, f.dataSN);
  v.setUint32(40, f.bufferOffset);
  v.setUint32(44, f.residualCount);
  return out;
}

export function decodeDataIn(bhs: Uint8Array): DataIn {
  const { view: v, common } = beginDecode(bhs, Opcode.DataIn);
  return {
    ...common,
    final: bit(bhs, 0x80),
    acknowledge: bit(bhs, 0x40),
    residualOverflow: bit(bhs, 0x04),
    residualUnderflow: bit(bhs, 0x02),
    statusPresent: bit(bhs, 0x01),
    status: bhs[3]!,
    lun: v.getBigUint64(8),
    itt: v.getUint32(16),
    ttt: v.getUint32(20),
    statSN: v.getUint32(24),
    expCmdSN: v.getUint32(28),
    maxCmdSN: v.getUint32(32),
    dataSN: v.getUint32(36),
    bufferOffset: v.getUint32(40),
    residualCount: v.getUint32(44),
  };
}

/** Ready To Transfer, RFC 7143 §11.8; the F bit is always 1. */
export function encodeR2T(f: Fields<R2T>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  const v = beginBhs(out, Opcode.R2T, 0x80, f);
  v.setBigUint64(8, f.lun);
  v.setUint32(16, f.itt);
  v.setUint32(20, f.ttt);
  v.setUint32(24, f.statSN);
  v.setUint32(28, f.expCmdSN);
  v.setUint32(32, f.maxCmdSN);
  v.setUint32(36, f.r2tSN);
  v.setUint32(40, f.bufferOffset);
  v.setUint32(44, f.desiredDataTransferLength);
  return out;
}

export function decodeR2T(bhs: Uint8Array): R2T {
  const { view: v, common } = beginDecode(bhs, Opcode.R2T);
  return {
    ...common,
    lun: v.getBigUint64(8),
    itt: v.getUint32(16),
    ttt: v.getUint32(20),
    statSN: v.getUint32(24),
    expCmdSN: v.getUint32(28),
    maxCmdSN: v.getUint32(32),
    r2tSN: v.getUint32(36),
    bufferOffset: v.getUint32(40),
    desiredDataTransferLength: v.getUint32(44),
  };
}
