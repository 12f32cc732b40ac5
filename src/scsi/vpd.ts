// Decodes the vital product data pages an initiator needs: supported pages (00h), unit serial number (80h) and
// device identification (83h) of SPC-4, block limits (B0h) and logical block provisioning (B2h) of SBC-3/SBC-4;
// parsers follow the rule in inquiry.ts.
import { Extent, ascii, hex, requireLength, viewOf } from "./bytes.ts";
import { ScsiFormatError } from "./errors.ts";
import { hexByte } from "./status.ts";

export const VpdPage = {
  SupportedPages: 0x00,
  UnitSerial: 0x80,
  DeviceIdentification: 0x83,
  BlockLimits: 0xb0,
  LogicalBlockProvisioning: 0xb2,
} as const;

function vpdExtent(bytes: Uint8Array, page: number): Extent {
  const command = `INQUIRY VPD page ${hexByte(page)}h`;
  requireLength(bytes, 4, command, "VPD page header");
  if (bytes[1] !== page) throw new ScsiFormatError(command, `PAGE CODE is ${hexByte(bytes[1]!)}h`);
  return new Extent(command, 4 + viewOf(bytes).getUint16(2), bytes.length);
}

/** The bytes a complete VPD page takes (4 + PAGE LENGTH): retry with this allocation length if it is more. */
export function vpdRequiredLength(bytes: Uint8Array): number {
  requireLength(bytes, 4, "INQUIRY VPD", "VPD page header");
  return 4 + viewOf(bytes).getUint16(2);
}

export function parseVpdSupportedPages(bytes: Uint8Array): number[] {
  const extent = vpdExtent(bytes, VpdPage.SupportedPages);
  return Array.from(bytes.subarray(4, extent.end));
}

export function parseVpdUnitSerial(bytes: Uint8Array): string {
  const extent = vpdExtent(bytes, VpdPage.UnitSerial);
  return ascii(bytes, 4, extent.end);
}

const CODE_SET = { binary: 1, ascii: 2, utf8: 3 } as const;
const ASSOCIATION_NAMES = ["logical unit", "target port", "target device"];
const DESIGNATOR_TYPE_NAMES = [
  "vendor specific",
  "T10 vendor ID",
  "EUI-64",
  "NAA",
  "relative target port",
  "target port group",
  "logical unit group",
  "MD5 logical unit identifier",
  "SCSI name string",
  "protocol specific port identifier",
  "UUID",
];

export interface Designator {
  codeSet: number; // 1 binary, 2 ASCII, 3 UTF-8
  association: number; // 0 logical unit, 1 target port, 2 target device
  associationName: string;
  type: number;
  typeName: string;
  protocolIdentifier?: number; // when PIV is set, e.g. 5 for iSCSI
  value: string; // lowercase hex for binary designators, trimmed text otherwise
}

/** The designation descriptors of the device identification page (SPC-4 designation descriptor format). */
export function parseVpdDeviceIdentification(bytes: Uint8Array): Designator[] {
  const extent = vpdExtent(bytes, VpdPage.DeviceIdentification);
  const designators: Designator[] = [];
  for (let offset = 4; offset < extent.end; ) {
    if (!extent.fits(offset, 4, "designation descriptor header")) break;
    const size = 4 + bytes[offset + 3]!;
    if (!extent.fits(offset, size, "designation descriptor")) break;
    const codeSet = bytes[offset]! & 0x0f;
    const flags = bytes[offset + 1]!;
    const association = (flags >> 4) & 0x03;
    const type = flags & 0x0f;
    const raw = bytes.subarray(offset + 4, offset + size);
    const designator: Designator = {
      codeSet,
      association,
      type,
      associationName: ASSOCIATION_NAMES[association] ?? "reserved",
      typeName: DESIGNATOR_TYPE_NAMES[type] ?? `type 0x${hexByte(type)}`,
      value: designatorValue(codeSet, raw),
    };
    if ((flags & 0x80) !== 0) designator.protocolIdentifier = bytes[offset]! >> 4;
    designators.push(designator);
    offset += size;
  }
  return designators;
}

function designatorValue(codeSet: number, raw: Uint8Array): string {
  if (codeSet === CODE_SET.ascii) return ascii(raw, 0, raw.length);
  // SCSI name strings are UTF-8, NUL-terminated and NUL-padded.
  if (codeSet === CODE_SET.utf8) return new TextDecoder().decode(raw).replace(/\0+$/, "").trim();
  return hex(raw);
}

/** Block limits (SBC-3). Fields that did not arrive read 0, SBC-3's "no limit reported". */
export interface BlockLimits {
  wsnz: boolean; // WRITE SAME with NUMBER OF LOGICAL BLOCKS 0 is refused
  maxCompareAndWriteLength: number;
  optimalTransferLengthGranularity: number;
  maxTransferLength: number; // in blocks
  optimalTransferLength: number;
  maxPrefetchLength: number;
  maxUnmapLbaCount: number;
  maxUnmapBlockDescriptorCount: number;
  optimalUnmapGranularity: number;
  unmapGranularityAlignment?: number; // only when UGAVALID is set
  maxWriteSameLength: bigint;
  truncated: boolean;
}

export function parseVpdBlockLimits(bytes: Uint8Array): BlockLimits {
  const extent = vpdExtent(bytes, VpdPage.BlockLimits);
  const view = viewOf(bytes);
  const u8 = (offset: number) => (extent.has(offset, 1) ? view.getUint8(offset) : 0);
  const u16 = (offset: number) => (extent.has(offset, 2) ? view.getUint16(offset) : 0);
  const u32 = (offset: number) => (extent.has(offset, 4) ? view.getUint32(offset) : 0);
  const limits: BlockLimits = {
    wsnz: (u8(4) & 0x01) !== 0,
    maxCompareAndWriteLength: u8(5),
    optimalTransferLengthGranularity: u16(6),
    maxTransferLength: u32(8),
    optimalTransferLength: u32(12),
    maxPrefetchLength: u32(16),
    maxUnmapLbaCount: u32(20),
    maxUnmapBlockDescriptorCount: u32(24),
    optimalUnmapGranularity: u32(28),
    maxWriteSameLength: extent.has(36, 8) ? view.getBigUint64(36) : 0n,
    truncated: extent.truncated,
  };
  const alignment = u32(32);
  if ((alignment & 0x8000_0000) !== 0) limits.unmapGranularityAlignment = alignment & 0x7fff_ffff;
  return limits;
}

/** Logical block provisioning (SBC-4 §6.6.4): which commands deallocate blocks, and what unmapped blocks read as. */
export interface LogicalBlockProvisioning {
  lbpu: boolean; // UNMAP is supported
  lbpws: boolean; // WRITE SAME(16) with UNMAP is supported
  lbpws10: boolean; // WRITE SAME(10) with UNMAP is supported
  lbprz: number; // 0: unspecified; bit 0 set (SBC-3's LBPRZ bit): unmapped blocks read as zeroes
  anc: boolean; // ANC_SUP: anchored LBAs supported
  provisioningType: number; // 0 full, 1 resource, 2 thin
}

export function parseVpdLogicalBlockProvisioning(bytes: Uint8Array): LogicalBlockProvisioning {
  const extent = vpdExtent(bytes, VpdPage.LogicalBlockProvisioning);
  const u8 = (offset: number) => (extent.has(offset, 1) ? bytes[offset]! : 0);
  const flags = u8(5);
  return {
    lbpu: (flags & 0x80) !== 0,
    lbpws: (flags & 0x40) !== 0,
    lbpws10: (flags & 0x20) !== 0,
    lbprz: (flags >> 2) & 0x07,
    anc: (flags & 0x02) !== 0,
    provisioningType: u8(6) & 0x07,
  };
}
