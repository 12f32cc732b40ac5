import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as scsi from "../../src/scsi/index.ts";

const SRC = join(import.meta.dir, "../../src/scsi");

test("the index re-exports the public API", () => {
  for (const name of [
    "testUnitReady",
    "inquiry",
    "readCapacity10",
    "readCapacity16",
    "reportLuns",
    "read10",
    "read16",
    "write10",
    "write16",
    "readCdb",
    "writeCdb",
    "synchronizeCache10",
    "synchronizeCache16",
    "requestSense",
    "modeSense6",
    "modeSense10",
    "unmap",
    "writeSame16",
    "parseStandardInquiry",
    "parseVpdSupportedPages",
    "parseVpdUnitSerial",
    "parseVpdDeviceIdentification",
    "parseVpdBlockLimits",
    "vpdRequiredLength",
    "parseReadCapacity10",
    "parseReadCapacity16",
    "parseReportLuns",
    "reportLunsRequiredLength",
    "parseModeSense6",
    "parseModeSense10",
    "decodeSense",
    "senseDataFromIscsi",
    "describeStatus",
    "describeSense",
    "statusName",
    "senseKeyName",
    "ascqText",
    "encodeLun",
    "decodeLun",
    "ScsiStatusError",
    "ScsiFormatError",
    "ScsiStatus",
    "SenseKey",
    "VpdPage",
    "deviceTypeName",
  ]) {
    expect(scsi).toHaveProperty(name);
  }
});

test("src/scsi is a leaf: it imports only its own files", () => {
  const files = readdirSync(SRC).filter((f) => f.endsWith(".ts"));
  expect(files.length).toBeGreaterThan(5);
  for (const file of files) {
    const source = readFileSync(join(SRC, file), "utf8");
    for (const [, specifier] of source.matchAll(/\bfrom\s+"([^"]+)"/g)) {
      expect(`${file}: ${specifier}`).toMatch(/: \.\/[\w-]+\.ts$/);
    }
  }
});
