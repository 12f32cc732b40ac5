// Decodes standard INQUIRY data (SPC-4 INQUIRY command, standard INQUIRY data format) into a logical unit's identity.
//
// Parsers rule (shared by inquiry, vpd, capacity, mode): fewer bytes than the fixed part needs, a wrong page
// code, or a field running past a length the target itself declared is a ScsiFormatError; a declared length
// beyond the bytes that arrived is the allocation-length cut of SPC-4 §4.2.5.6, decoded as far as whole
// fields and entries go, with `truncated: true` so the caller can retry with a larger allocation length.
import { Extent, ascii, requireLength, viewOf } from "./bytes.ts";
import { hexByte } from "./status.ts";

const DEVICE_TYPE_NAMES: Record<number, string> = {
  0x00: "direct access block device",
  0x01: "sequential access device",
  0x02: "printer device",
  0x03: "processor device",
  0x04: "write-once device",
  0x05: "CD/DVD device",
  0x07: "optical memory device",
  0x08: "media changer device",
  0x0c: "storage array controller device",
  0x0d: "enclosure services device",
  0x0e: "simplified direct-access device",
  0x0f: "optical card reader/writer device",
  0x11: "object-based storage device",
  0x12: "automation/drive interface",
  0x14: "host managed zoned block device",
  0x1e: "well known logical unit",
  0x1f: "unknown or no device type",
};

export function deviceTypeName(peripheralDeviceType: number): string {
  return DEVICE_TYPE_NAMES[peripheralDeviceType] ?? `device type 0x${hexByte(peripheralDeviceType)}`;
}

export interface StandardInquiry {
  peripheralQualifier: number; // 0: the logical unit is connected; 3: no logical unit at this LUN
  peripheralDeviceType: number;
  deviceTypeName: string;
  removable: boolean;
  version: number; // 0x06 for SPC-4
  responseDataFormat: number;
  normAca: boolean;
  hiSup: boolean;
  sccs: boolean;
  tpgs: number; // target port group support (ALUA), 0..3
  threePc: boolean;
  protect: boolean;
  encServ: boolean;
  multiP: boolean;
  cmdQue: boolean;
  vendor: string;
  product: string;
  revision: string;
  versionDescriptors: number[]; // non-zero VERSION DESCRIPTORs that arrived
  truncated: boolean;
}

const COMMAND = "INQUIRY";
const MINIMUM = 36; // SPC-4: standard INQUIRY data holds at least bytes 0..35 (through PRODUCT REVISION LEVEL)
const VERSION_DESCRIPTORS = 58;
const VERSION_DESCRIPTOR_COUNT = 8;

export function parseStandardInquiry(bytes: Uint8Array): StandardInquiry {
  requireLength(bytes, MINIMUM, COMMAND, "standard INQUIRY data");
  const view = viewOf(bytes);
  const extent = new Extent(COMMAND, 5 + view.getUint8(4), bytes.length); // ADDITIONAL LENGTH counts from byte 5
  extent.fits(8, MINIMUM - 8, "VENDOR, PRODUCT and REVISION");
  const versionDescriptors: number[] = [];
  for (let i = 0; i < VERSION_DESCRIPTOR_COUNT; i++) {
    const offset = VERSION_DESCRIPTORS + 2 * i;
    if (!extent.has(offset, 2)) break;
    const descriptor = view.getUint16(offset);
    if (descriptor !== 0) versionDescriptors.push(descriptor);
  }
  const byte = (offset: number) => view.getUint8(offset);
  return {
    peripheralQualifier: byte(0) >> 5,
    peripheralDeviceType: byte(0) & 0x1f,
    deviceTypeName: deviceTypeName(byte(0) & 0x1f),
    removable: (byte(1) & 0x80) !== 0,
    version: byte(2),
    responseDataFormat: byte(3) & 0x0f,
    normAca: (byte(3) & 0x20) !== 0,
    hiSup: (byte(3) & 0x10) !== 0,
    sccs: (byte(5) & 0x80) !== 0,
    tpgs: (byte(5) >> 4) & 0x03,
    threePc: (byte(5) & 0x08) !== 0,
    protect: (byte(5) & 0x01) !== 0,
    encServ: (byte(6) & 0x40) !== 0,
    multiP: (byte(6) & 0x10) !== 0,
    cmdQue: (byte(7) & 0x02) !== 0,
    vendor: ascii(bytes, 8, 16),
    product: ascii(bytes, 16, 32),
    revision: ascii(bytes, 32, 36),
    versionDescriptors,
    truncated: extent.truncated,
  };
}
