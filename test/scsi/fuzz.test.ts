import { expect, test } from "bun:test";
import { parseReadCapacity10, parseReadCapacity16, parseReportLuns } from "../../src/scsi/capacity.ts";
import { ScsiFormatError } from "../../src/scsi/errors.ts";
import { parseStandardInquiry } from "../../src/scsi/inquiry.ts";
import { parseModeSense10, parseModeSense6 } from "../../src/scsi/mode.ts";
import { decodeSense } from "../../src/scsi/sense.ts";
import {
  parseVpdBlockLimits,
  parseVpdDeviceIdentification,
  parseVpdLogicalBlockProvisioning,
  parseVpdSupportedPages,
  parseVpdUnitSerial,
} from "../../src/scsi/vpd.ts";

// Deterministic xorshift32 so a failure reproduces.
let state = 0x9e3779b9;
function random(limit: number): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % limit;
}

// Each parser with the leading bytes that get it past its first check, so the fuzz reaches the deep paths.
const PARSERS: [string, (b: Uint8Array) => unknown, number[]][] = [
  ["decodeSense fixed", decodeSense, [0x70]],
  ["decodeSense descriptor", decodeSense, [0x72]],
  ["parseStandardInquiry", parseStandardInquiry, []],
  ["parseVpdSupportedPages", parseVpdSupportedPages, [0x00, 0x00]],
  ["parseVpdUnitSerial", parseVpdUnitSerial, [0x00, 0x80]],
  ["parseVpdDeviceIdentification", parseVpdDeviceIdentification, [0x00, 0x83]],
  ["parseVpdBlockLimits", parseVpdBlockLimits, [0x00, 0xb0]],
  ["parseVpdLogicalBlockProvisioning", parseVpdLogicalBlockProvisioning, [0x00, 0xb2]],
  ["parseReadCapacity10", parseReadCapacity10, []],
  ["parseReadCapacity16", parseReadCapacity16, []],
  ["parseReportLuns", parseReportLuns, [0x00, 0x00, 0x00]],
  ["parseModeSense6", parseModeSense6, []],
  ["parseModeSense10", parseModeSense10, [0x00]],
];

test.each(PARSERS)("%s never fails other than with ScsiFormatError on random input", (_, parse, prefix) => {
  let decoded = 0;
  for (let i = 0; i < 3000; i++) {
    const bytes = Uint8Array.from({ length: random(96) }, () => random(256));
    bytes.set(prefix.slice(0, bytes.length));
    // Small length bytes make the declared lengths land inside the buffer often.
    if (bytes.length > 7 && random(2) === 0) bytes[random(8)] = random(48);
    try {
      parse(bytes);
      decoded++;
    } catch (err) {
      expect(err).toBeInstanceOf(ScsiFormatError);
    }
  }
  expect(decoded).toBeGreaterThan(0);
});
