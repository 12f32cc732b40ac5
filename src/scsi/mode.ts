// Decodes MODE SENSE(6)/(10) parameter data: header, block descriptors and mode pages (SPC-4 mode parameters),
// with the direct-access device-specific parameter and block descriptor of SBC-3; parsers follow inquiry.ts's rule.
import { Extent, requireLength, viewOf } from "./bytes.ts";
import { ScsiFormatError } from "./errors.ts";
import { hexByte } from "./status.ts";

export interface BlockDescriptor {
  blocks: bigint;
  blockLength: number;
}

export interface ModePage {
  code: number;
  subpage: number; // 0 for page_0 format pages
  ps: boolean; // parameters saveable
  data: Uint8Array; // the page's parameters after its 2- or 4-byte header (a copy)
}

export interface ModeSense {
  mediumType: number;
  deviceSpecificParameter: number;
  writeProtect: boolean;
  dpofua: boolean; // the target honours DPO and FUA
  longLba: boolean;
  blockDescriptors: BlockDescriptor[];
  pages: ModePage[];
  truncated: boolean;
}

interface Header {
  command: string;
  headerLength: number;
  declaredEnd: number;
  mediumType: number;
  deviceSpecificParameter: number;
  longLba: boolean;
  blockDescriptorLength: number;
}

export function parseModeSense6(bytes: Uint8Array): ModeSense {
  const command = "MODE SENSE(6)";
  requireLength(bytes, 4, command, "mode parameter header");
  const view = viewOf(bytes);
  return parseModeData(bytes, {
    command,
    headerLength: 4,
    declaredEnd: 1 + view.getUint8(0),
    mediumType: view.getUint8(1),
    deviceSpecificParameter: view.getUint8(2),
    longLba: false,
    blockDescriptorLength: view.getUint8(3),
  });
}

export function parseModeSense10(bytes: Uint8Array): ModeSense {
  const command = "MODE SENSE(10)";
  requireLength(bytes, 8, command, "mode parameter header");
  const view = viewOf(bytes);
  return parseModeData(bytes, {
    command,
    headerLength: 8,
    declaredEnd: 2 + view.getUint16(0),
    mediumType: view.getUint8(2),
    deviceSpecificParameter: view.getUint8(3),
    longLba: (view.getUint8(4) & 0x01) !== 0,
    blockDescriptorLength: view.getUint16(6),
  });
}

function parseModeData(bytes: Uint8Array, header: Header): ModeSense {
  const { command, headerLength, longLba, blockDescriptorLength } = header;
  const extent = new Extent(command, header.declaredEnd, bytes.length);
  extent.fits(0, headerLength, "mode parameter header");
  const descriptorSize = longLba ? 16 : 8;
  if (blockDescriptorLength % descriptorSize !== 0) {
    throw new ScsiFormatError(
      command,
      `BLOCK DESCRIPTOR LENGTH ${blockDescriptorLength} is not a multiple of ${descriptorSize}`,
    );
  }
  const pagesStart = headerLength + blockDescriptorLength;
  extent.fits(headerLength, blockDescriptorLength, "block descriptors");
  const view = viewOf(bytes);
  const result: ModeSense = {
    mediumType: header.mediumType,
    deviceSpecificParameter: header.deviceSpecificParameter,
    writeProtect: (header.deviceSpecificParameter & 0x80) !== 0,
    dpofua: (header.deviceSpecificParameter & 0x10) !== 0,
    longLba,
    blockDescriptors: [],
    pages: [],
    truncated: extent.truncated,
  };
  for (let offset = headerLength; offset < pagesStart && extent.has(offset, descriptorSize); offset += descriptorSize) {
    result.blockDescriptors.push(
      longLba
        ? { blocks: view.getBigUint64(offset), blockLength: view.getUint32(offset + 12) }
        : { blocks: BigInt(view.getUint32(offset)), blockLength: view.getUint32(offset + 4) & 0xff_ffff },
    );
  }
  for (let offset = pagesStart; offset < extent.end; ) {
    if (!extent.fits(offset, 2, "mode page header")) break;
    const first = view.getUint8(offset);
    const subpageFormat = (first & 0x40) !== 0; // SPF: sub_page format with a 4-byte header
    if (subpageFormat && !extent.fits(offset, 4, "mode subpage header")) break;
    const headerSize = subpageFormat ? 4 : 2;
    const length = subpageFormat ? view.getUint16(offset + 2) : view.getUint8(offset + 1);
    const code = first & 0x3f;
    if (!extent.fits(offset, headerSize + length, `mode page ${hexByte(code)}h`)) break;
    result.pages.push({
      code,
      subpage: subpageFormat ? view.getUint8(offset + 1) : 0,
      ps: (first & 0x80) !== 0,
      data: bytes.slice(offset + headerSize, offset + headerSize + length),
    });
    offset += headerSize + length;
  }
  return result;
}
