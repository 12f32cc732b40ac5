import { describe, expect, test } from "bun:test";
import {
  parseReadCapacity10,
  parseReadCapacity16,
  parseReportLuns,
  reportLunsRequiredLength,
} from "../../src/scsi/capacity.ts";
import { ScsiFormatError } from "../../src/scsi/errors.ts";
import { everyPrefix, hex } from "../support/bytes.ts";

describe("READ CAPACITY(10)", () => {
  const RC10 = hex("00 1f ff ff 00 00 02 00");
  test("decodes", () => {
    expect(parseReadCapacity10(RC10)).toEqual({
      lastLba: 0x1fffff,
      blockSize: 512,
      blocks: 0x200000,
      needsReadCapacity16: false,
    });
    expect(parseReadCapacity10(hex("ff ff ff ff 00 00 10 00")).needsReadCapacity16).toBe(true);
  });
  test("every truncation and a zero block length are malformed", () => {
    everyPrefix(RC10, 8, parseReadCapacity10, (cap) => expect(cap.blockSize).toBe(512));
    expect(() => parseReadCapacity10(hex("00 00 00 10 00 00 00 00"))).toThrow(/LOGICAL BLOCK LENGTH IN BYTES is 0/);
  });
});

describe("READ CAPACITY(16)", () => {
  // 8 GiB of 4 KiB blocks less one, type 2 protection, 8 logical per physical, thin provisioned, lowest aligned LBA 7.
  const RC16 = hex("00 00 00 01 ff ff ff ff 00 00 10 00 03 13 c0 07 " + "00 ".repeat(16));
  const expected = {
    lastLba: 0x1_ffff_ffffn,
    blockSize: 4096,
    blocks: 0x2_0000_0000n,
    protectionEnabled: true,
    protectionType: 2,
    protectionIntervalsExponent: 1,
    logicalBlocksPerPhysicalExponent: 3,
    lbpme: true,
    lbprz: true,
    lowestAlignedLba: 7,
  };
  test("decodes", () => {
    expect(parseReadCapacity16(RC16)).toEqual(expected);
    expect(parseReadCapacity16(hex("00 00 00 00 00 00 0f ff 00 00 02 00 00 00 00 00"))).toMatchObject({
      blocks: 0x1000n,
      protectionEnabled: false,
      protectionType: 0,
      lbpme: false,
      lbprz: false,
    });
  });
  test("every truncation: ScsiFormatError below 16 bytes, reserved bytes optional", () => {
    everyPrefix(RC16, 16, parseReadCapacity16, (cap) => expect(cap).toEqual(expected));
    expect(() => parseReadCapacity16(hex("00 ".repeat(16)))).toThrow(ScsiFormatError);
  });
});

describe("REPORT LUNS", () => {
  // LUN 0 and 1 (peripheral), 300 (flat), and one in logical unit addressing that we cannot address.
  const LUNS = hex(
    "00 00 00 20 00 00 00 00 " +
      "00 00 00 00 00 00 00 00 " +
      "00 01 00 00 00 00 00 00 " +
      "41 2c 00 00 00 00 00 00 " +
      "80 01 00 00 00 00 00 00",
  );
  test("decodes single-level LUNs", () => {
    expect(parseReportLuns(LUNS)).toEqual([0, 1, 300]);
    expect(reportLunsRequiredLength(LUNS)).toBe(40);
  });
  test("every truncation yields the whole LUNs that arrived", () => {
    everyPrefix(LUNS, 8, parseReportLuns, (luns, n) =>
      expect(luns).toEqual([0, 1, 300].slice(0, Math.floor((n - 8) / 8))),
    );
  });
  test("a huge declared list is not allocated, only what arrived is read", () => {
    const data = hex("ff ff ff f8 00 00 00 00 00 07 00 00 00 00 00 00");
    expect(parseReportLuns(data)).toEqual([7]);
    expect(reportLunsRequiredLength(data)).toBe(0xffff_fff8 + 8);
  });
  test("LUN LIST LENGTH not a multiple of 8 is malformed", () => {
    expect(() => parseReportLuns(hex("00 00 00 0c 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"))).toThrow(
      /LUN LIST LENGTH 12/,
    );
  });
});
