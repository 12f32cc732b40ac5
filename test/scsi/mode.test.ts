import { describe, expect, test } from "bun:test";
import { ScsiFormatError } from "../../src/scsi/errors.ts";
import { parseModeSense10, parseModeSense6 } from "../../src/scsi/mode.ts";
import { everyPrefix, hex } from "../support/bytes.ts";

const CACHING_DATA = "04 00 ff ff 00 00 ff ff ff ff 80 20 00 00 00 00 00 00"; // WCE set
const CACHING = `08 12 ${CACHING_DATA}`;
const CONTROL_EXTENSION = `4a 01 00 1c ${"00 ".repeat(28)}`;

// MODE SENSE(6): write protected, DPOFUA, one short block descriptor (4096 blocks of 512), the caching page.
const MS6 = hex(`1f 00 90 08 00 00 10 00 00 00 02 00 ${CACHING}`);
// MODE SENSE(10): LONGLBA descriptor (2^32 blocks of 4096), caching page and a subpage-format page.
const MS10 = hex(
  `00 4a 00 10 01 00 00 10 00 00 00 01 00 00 00 00 00 00 00 00 00 00 10 00 ${CACHING} ${CONTROL_EXTENSION}`,
);

describe("MODE SENSE(6)", () => {
  test("decodes header, block descriptor and page", () => {
    expect(MS6.length).toBe(32);
    expect(parseModeSense6(MS6)).toEqual({
      mediumType: 0,
      deviceSpecificParameter: 0x90,
      writeProtect: true,
      dpofua: true,
      longLba: false,
      blockDescriptors: [{ blocks: 4096n, blockLength: 512 }],
      pages: [{ code: 0x08, subpage: 0, ps: false, data: hex(CACHING_DATA) }],
      truncated: false,
    });
  });
  test("the reserved byte before BLOCK LENGTH is ignored", () => {
    const data = MS6.slice();
    data[8] = 0xff;
    expect(parseModeSense6(data).blockDescriptors).toEqual([{ blocks: 4096n, blockLength: 512 }]);
  });
  test("every truncation: whole descriptors and pages only", () => {
    everyPrefix(MS6, 4, parseModeSense6, (mode, n) => {
      expect(mode.writeProtect).toBe(true);
      expect(mode.truncated).toBe(n < 32);
      expect(mode.blockDescriptors.length).toBe(n >= 12 ? 1 : 0);
      expect(mode.pages.length).toBe(n >= 32 ? 1 : 0);
    });
  });
  test("lengths that contradict each other are malformed", () => {
    expect(() => parseModeSense6(hex("07 00 00 08 00 00 10 00 00 00 02 00"))).toThrow(/block descriptors/);
    expect(() => parseModeSense6(hex("0a 00 00 07 00 00 10 00 00 00 02"))).toThrow(/BLOCK DESCRIPTOR LENGTH 7/);
    expect(() => parseModeSense6(hex("02 00 00 00"))).toThrow(/mode parameter header/);
    expect(() => parseModeSense6(hex("05 00 00 00 08 12 04 00"))).toThrow(/mode page 08h/);
    expect(() => parseModeSense6(hex("04 00 00 00 08"))).toThrow(/mode page header/);
  });
});

describe("MODE SENSE(10)", () => {
  test("decodes long LBA descriptor and subpage-format page", () => {
    expect(MS10.length).toBe(76);
    const mode = parseModeSense10(MS10);
    expect(mode).toMatchObject({
      writeProtect: false,
      dpofua: true,
      longLba: true,
      truncated: false,
      blockDescriptors: [{ blocks: 0x1_0000_0000n, blockLength: 4096 }],
    });
    expect(mode.pages.map((p) => [p.code, p.subpage, p.data.length])).toEqual([
      [0x08, 0, 18],
      [0x0a, 0x01, 28],
    ]);
  });
  test("every truncation: whole descriptors and pages only", () => {
    everyPrefix(MS10, 8, parseModeSense10, (mode, n) => {
      expect(mode.truncated).toBe(n < 76);
      expect(mode.blockDescriptors.length).toBe(n >= 24 ? 1 : 0);
      expect(mode.pages.length).toBe([44, 76].filter((end) => end <= n).length);
    });
  });
  test("page data is a copy", () => {
    const data = MS10.slice();
    const page = parseModeSense10(data).pages[0]!;
    data.fill(0);
    expect(page.data[0]).toBe(0x04);
  });
});
