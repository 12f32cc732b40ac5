// Decodes READ CAPACITY(10)/(16) parameter data (SBC-3) and REPORT LUNS parameter data (SPC-4);
// parsers follow the rule in inquiry.ts.
import { Extent, requireLength, viewOf } from "./bytes.ts";
import { ScsiFormatError } from "./errors.ts";
import { decodeLun } from "./lun.ts";

export interface Capacity10 {
  lastLba: number;
  blockSize: number;
  blocks: number;
  needsReadCapacity16: boolean; // RETURNED LOGICAL BLOCK ADDRESS is FFFFFFFFh: the capacity does not fit (SBC-3)
}

export interface Capacity16 {
  lastLba: bigint;
  blockSize: number;
  blocks: bigint;
  protectionEnabled: boolean;
  protectionType: number; // 1..3 when protection is enabled (P_TYPE + 1), else 0
  protectionIntervalsExponent: number;
  logicalBlocksPerPhysicalExponent: number;
  lbpme: boolean; // logical block provisioning (thin provisioning, UNMAP) is enabled
  lbprz: boolean; // unmapped blocks read as zeroes
  lowestAlignedLba: number;
}

function blockLength(view: DataView, offset: number, command: string): number {
  const blockSize = view.getUint32(offset);
  if (blockSize === 0) throw new ScsiFormatError(command, "LOGICAL BLOCK LENGTH IN BYTES is 0");
  return blockSize;
}

export function parseReadCapacity10(bytes: Uint8Array): Capacity10 {
  const command = "READ CAPACITY(10)";
  requireLength(bytes, 8, command, "parameter data");
  const view = viewOf(bytes);
  const lastLba = view.getUint32(0);
  return {
    lastLba,
    blockSize: blockLength(view, 4, command),
    blocks: lastLba + 1,
    needsReadCapacity16: lastLba === 0xffff_ffff,
  };
}

export function parseReadCapacity16(bytes: Uint8Array): Capacity16 {
  const command = "READ CAPACITY(16)";
  // Bytes 16..31 are reserved in SBC-3; everything we decode is in bytes 0..15.
  requireLength(bytes, 16, command, "parameter data");
  const view = viewOf(bytes);
  const lastLba = view.getBigUint64(0);
  const protection = view.getUint8(12);
  const protectionEnabled = (protection & 0x01) !== 0;
  return {
    lastLba,
    blockSize: blockLength(view, 8, command),
    blocks: lastLba + 1n,
    protectionEnabled,
    protectionType: protectionEnabled ? ((protection >> 1) & 0x07) + 1 : 0,
    protectionIntervalsExponent: view.getUint8(13) >> 4,
    logicalBlocksPerPhysicalExponent: view.getUint8(13) & 0x0f,
    lbpme: (view.getUint8(14) & 0x80) !== 0,
    lbprz: (view.getUint8(14) & 0x40) !== 0,
    lowestAlignedLba: view.getUint16(14) & 0x3fff,
  };
}

/** The bytes the complete REPORT LUNS data takes (8 + LUN LIST LENGTH): retry with this allocation length if it is more. */
export function reportLunsRequiredLength(bytes: Uint8Array): number {
  requireLength(bytes, 8, "REPORT LUNS", "parameter data header");
  return 8 + viewOf(bytes).getUint32(0);
}

/**
 * The single-level LUNs (peripheral or flat addressing) in the target's order. LUNs in addressing methods that
 * encodeLun cannot produce are left out, since no command could address them.
 */
export function parseReportLuns(bytes: Uint8Array): number[] {
  const command = "REPORT LUNS";
  const lunListLength = reportLunsRequiredLength(bytes) - 8;
  if (lunListLength % 8 !== 0)
    throw new ScsiFormatError(command, `LUN LIST LENGTH ${lunListLength} is not a multiple of 8`);
  const extent = new Extent(command, 8 + lunListLength, bytes.length);
  const view = viewOf(bytes);
  const luns: number[] = [];
  for (let offset = 8; extent.has(offset, 8); offset += 8) {
    const lun = decodeLun(view.getBigUint64(offset));
    if (lun !== null) luns.push(lun);
  }
  return luns;
}
