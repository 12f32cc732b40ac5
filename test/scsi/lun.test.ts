import { describe, expect, test } from "bun:test";
import { decodeLun, encodeLun } from "../../src/scsi/lun.ts";

describe("encodeLun", () => {
  test("peripheral device addressing below 256", () => {
    expect(encodeLun(0)).toBe(0n);
    expect(encodeLun(1)).toBe(0x0001_0000_0000_0000n);
    expect(encodeLun(255)).toBe(0x00ff_0000_0000_0000n);
  });
  test("flat space addressing from 256 to 16383", () => {
    expect(encodeLun(256)).toBe(0x4100_0000_0000_0000n);
    expect(encodeLun(16383)).toBe(0x7fff_0000_0000_0000n);
  });
  test("out of range", () => {
    expect(() => encodeLun(16384)).toThrow(RangeError);
    expect(() => encodeLun(-1)).toThrow(/lun -1/);
    expect(() => encodeLun(1.5)).toThrow(RangeError);
  });
});

describe("decodeLun", () => {
  test("round-trips every single-level LUN", () => {
    for (let lun = 0; lun <= 16383; lun++) expect(decodeLun(encodeLun(lun))).toBe(lun);
  });
  test("flat addressing of a small LUN", () => {
    expect(decodeLun(0x4005_0000_0000_0000n)).toBe(5);
  });
  test("other addressing methods and levels yield null", () => {
    expect(decodeLun(0x8001_0000_0000_0000n)).toBeNull(); // logical unit addressing
    expect(decodeLun(0xc000_0000_0000_0000n)).toBeNull(); // extended addressing
    expect(decodeLun(0x0105_0000_0000_0000n)).toBeNull(); // peripheral with bus identifier 1
    expect(decodeLun(0x0001_0002_0000_0000n)).toBeNull(); // second level
  });
  test("a field that is not 64 bits throws", () => {
    expect(() => decodeLun(-1n)).toThrow(RangeError);
    expect(() => decodeLun(1n << 64n)).toThrow(RangeError);
  });
});
