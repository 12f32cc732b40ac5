import { describe, expect, test } from "bun:test";
import {
  inquiry,
  modeSense10,
  modeSense6,
  read10,
  read16,
  readCapacity10,
  readCapacity16,
  readCdb,
  reportLuns,
  requestSense,
  synchronizeCache10,
  synchronizeCache16,
  testUnitReady,
  unmap,
  write10,
  write16,
  writeCdb,
  writeSame16,
  type CdbSpec,
} from "../../src/scsi/cdb.ts";

const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");

function expectSpec(spec: CdbSpec, name: string, cdb: string, direction: CdbSpec["direction"], transferLength: number) {
  expect(spec.name).toBe(name);
  expect(toHex(spec.cdb)).toBe(cdb);
  expect(spec.direction).toBe(direction);
  expect(spec.transferLength).toBe(transferLength);
}

describe("SPC-4 commands", () => {
  test("TEST UNIT READY", () => {
    expectSpec(testUnitReady(), "TEST UNIT READY", "00 00 00 00 00 00", "none", 0);
  });
  test("INQUIRY standard and VPD", () => {
    expectSpec(inquiry({ allocationLength: 96 }), "INQUIRY", "12 00 00 00 60 00", "read", 96);
    expectSpec(
      inquiry({ evpd: true, page: 0x83, allocationLength: 0x1000 }),
      "INQUIRY",
      "12 01 83 10 00 00",
      "read",
      0x1000,
    );
  });
  test("INQUIRY range checks", () => {
    expect(() => inquiry({ page: 0x80, allocationLength: 255 })).toThrow(/page 128 requires evpd/);
    expect(() => inquiry({ evpd: true, page: 0x100, allocationLength: 255 })).toThrow(/page/);
    expect(() => inquiry({ allocationLength: 0x10000 })).toThrow(/allocationLength 65536/);
  });
  test("REPORT LUNS", () => {
    expectSpec(
      reportLuns({ allocationLength: 0x1010, selectReport: 2 }),
      "REPORT LUNS",
      "a0 00 02 00 00 00 00 00 10 10 00 00",
      "read",
      0x1010,
    );
    expect(() => reportLuns({ allocationLength: 15 })).toThrow(RangeError);
    expect(() => reportLuns({ allocationLength: 16, selectReport: 256 })).toThrow(/selectReport/);
  });
  test("REQUEST SENSE", () => {
    expectSpec(
      requestSense({ allocationLength: 252, descriptor: true }),
      "REQUEST SENSE",
      "03 01 00 00 fc 00",
      "read",
      252,
    );
    expectSpec(requestSense({ allocationLength: 18 }), "REQUEST SENSE", "03 00 00 00 12 00", "read", 18);
    expect(() => requestSense({ allocationLength: 256 })).toThrow(/allocationLength 256/);
  });
  test("MODE SENSE(6) and (10)", () => {
    expectSpec(modeSense6({ page: 0x08, allocationLength: 255 }), "MODE SENSE(6)", "1a 08 08 00 ff 00", "read", 255);
    expectSpec(
      modeSense6({ page: 0x3f, subpage: 0xff, pageControl: 2, dbd: false, allocationLength: 200 }),
      "MODE SENSE(6)",
      "1a 00 bf ff c8 00",
      "read",
      200,
    );
    expectSpec(
      modeSense10({ page: 0x0a, allocationLength: 0x200 }),
      "MODE SENSE(10)",
      "5a 08 0a 00 00 00 00 02 00 00",
      "read",
      0x200,
    );
    expect(() => modeSense6({ page: 0x40, allocationLength: 4 })).toThrow(/page 64/);
    expect(() => modeSense6({ page: 0, pageControl: 4, allocationLength: 4 })).toThrow(/pageControl/);
    expect(() => modeSense6({ page: 0, allocationLength: 256 })).toThrow(/allocationLength/);
    expect(() => modeSense10({ page: 0, allocationLength: 0x10000 })).toThrow(/allocationLength/);
  });
});

describe("SBC-3 commands", () => {
  test("READ CAPACITY(10) and (16)", () => {
    expectSpec(readCapacity10(), "READ CAPACITY(10)", "25 00 00 00 00 00 00 00 00 00", "read", 8);
    expectSpec(readCapacity16(), "READ CAPACITY(16)", "9e 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00", "read", 32);
    expectSpec(
      readCapacity16({ allocationLength: 0x100 }),
      "READ CAPACITY(16)",
      "9e 10 00 00 00 00 00 00 00 00 00 00 01 00 00 00",
      "read",
      256,
    );
  });
  test("READ(10) and WRITE(10)", () => {
    expectSpec(
      read10({ lba: 0x12345678, blocks: 0x100, blockSize: 512, fua: true }),
      "READ(10)",
      "28 08 12 34 56 78 00 01 00 00",
      "read",
      131072,
    );
    expectSpec(
      write10({ lba: 1n, blocks: 8, blockSize: 512 }),
      "WRITE(10)",
      "2a 00 00 00 00 01 00 00 08 00",
      "write",
      4096,
    );
  });
  test("READ(16) and WRITE(16)", () => {
    expectSpec(
      read16({ lba: 0x1_0000_0000n, blocks: 0x10000, blockSize: 4096 }),
      "READ(16)",
      "88 00 00 00 00 01 00 00 00 00 00 01 00 00 00 00",
      "read",
      0x10000000,
    );
    expectSpec(
      write16({ lba: 0xfedc_ba98_7654_3210n, blocks: 1, blockSize: 512, fua: true }),
      "WRITE(16)",
      "8a 08 fe dc ba 98 76 54 32 10 00 00 00 01 00 00",
      "write",
      512,
    );
  });
  test("10-byte range checks name the argument", () => {
    expect(() => read10({ lba: 2 ** 32, blocks: 1, blockSize: 512 })).toThrow(/READ\(10\): lba 4294967296/);
    expect(() => write10({ lba: 1n << 32n, blocks: 1, blockSize: 512 })).toThrow(/WRITE\(10\): lba/);
    expect(() => read10({ lba: 0, blocks: 0x10000, blockSize: 512 })).toThrow(/blocks 65536/);
    expect(() => read10({ lba: -1, blocks: 1, blockSize: 512 })).toThrow(/lba -1/);
    expect(() => read10({ lba: 0.5, blocks: 1, blockSize: 512 })).toThrow(/lba 0.5/);
  });
  test("16-byte range checks name the argument", () => {
    expect(() => read16({ lba: 1n << 64n, blocks: 1, blockSize: 512 })).toThrow(/READ\(16\): lba/);
    expect(() => write16({ lba: -1n, blocks: 1, blockSize: 512 })).toThrow(/lba -1/);
    expect(() => read16({ lba: 2 ** 53, blocks: 1, blockSize: 512 })).toThrow(/not a safe integer/);
    expect(() => read16({ lba: 0, blocks: 2 ** 32, blockSize: 1 })).toThrow(/blocks 4294967296/);
    expect(() => read16({ lba: 0, blocks: 1, blockSize: 0 })).toThrow(/blockSize 0/);
    expect(() => read16({ lba: 0, blocks: 0x100000, blockSize: 4096 })).toThrow(/exceeds 4294967295/);
    expect(read16({ lba: (1n << 64n) - 1n, blocks: 0, blockSize: 512 }).transferLength).toBe(0);
  });
  test("readCdb/writeCdb pick the 10-byte form while LBA and blocks fit", () => {
    expect(readCdb({ lba: 0xffff_ffff, blocks: 0xffff, blockSize: 512 }).name).toBe("READ(10)");
    expect(readCdb({ lba: 0x1_0000_0000n, blocks: 1, blockSize: 512 }).name).toBe("READ(16)");
    expect(readCdb({ lba: 0, blocks: 0x10000, blockSize: 512 }).name).toBe("READ(16)");
    expect(writeCdb({ lba: 7n, blocks: 1, blockSize: 512 }).name).toBe("WRITE(10)");
    expect(writeCdb({ lba: 2 ** 40, blocks: 1, blockSize: 512 }).name).toBe("WRITE(16)");
    expect(() => writeCdb({ lba: 1n << 64n, blocks: 1, blockSize: 512 })).toThrow(/WRITE: lba/);
  });
  test("SYNCHRONIZE CACHE(10) and (16)", () => {
    expectSpec(synchronizeCache10(), "SYNCHRONIZE CACHE(10)", "35 00 00 00 00 00 00 00 00 00", "none", 0);
    expectSpec(
      synchronizeCache10({ lba: 0x10, blocks: 0x20, immed: true }),
      "SYNCHRONIZE CACHE(10)",
      "35 02 00 00 00 10 00 00 20 00",
      "none",
      0,
    );
    expectSpec(
      synchronizeCache16(),
      "SYNCHRONIZE CACHE(16)",
      "91 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
      "none",
      0,
    );
    expectSpec(
      synchronizeCache16({ lba: 0x1_0000_0002n, blocks: 0x10000, immed: true }),
      "SYNCHRONIZE CACHE(16)",
      "91 02 00 00 00 01 00 00 00 02 00 01 00 00 00 00",
      "none",
      0,
    );
    expect(() => synchronizeCache10({ lba: 2 ** 32 })).toThrow(/lba/);
    expect(() => synchronizeCache10({ blocks: 0x10000 })).toThrow(/blocks/);
  });
  test("UNMAP CDB and parameter list", () => {
    const spec = unmap({
      descriptors: [
        { lba: 0x1000, blocks: 0x800 },
        { lba: 0x1_0000_0000n, blocks: 1 },
      ],
    });
    expectSpec(spec, "UNMAP", "42 00 00 00 00 00 00 00 28 00", "write", 40);
    expect(toHex(spec.parameterList)).toBe(
      "00 26 00 20 00 00 00 00 " +
        "00 00 00 00 00 00 10 00 00 00 08 00 00 00 00 00 " +
        "00 00 00 01 00 00 00 00 00 00 00 01 00 00 00 00",
    );
  });
  test("UNMAP range checks", () => {
    expect(() => unmap({ descriptors: [] })).toThrow(/descriptors.length 0/);
    const many = Array.from({ length: 4096 }, (_, i) => ({ lba: i, blocks: 1 }));
    expect(() => unmap({ descriptors: many })).toThrow(/descriptors.length 4096/);
    expect(unmap({ descriptors: many.slice(0, 4095) }).transferLength).toBe(8 + 16 * 4095);
    expect(() =>
      unmap({
        descriptors: [
          { lba: 0, blocks: 1 },
          { lba: 0, blocks: 2 ** 32 },
        ],
      }),
    ).toThrow(/descriptors\[1\].blocks/);
    expect(() => unmap({ descriptors: [{ lba: 1n << 64n, blocks: 1 }] })).toThrow(/descriptors\[0\].lba/);
  });
  test("WRITE SAME(16) with UNMAP and NDOB", () => {
    expectSpec(
      writeSame16({ lba: 0x800, blocks: 0x100, blockSize: 512, unmap: true }),
      "WRITE SAME(16)",
      "93 08 00 00 00 00 00 00 08 00 00 00 01 00 00 00",
      "write",
      512,
    );
    expectSpec(
      writeSame16({ lba: 0x800, blocks: 0x100, blockSize: 512, unmap: true, ndob: true }),
      "WRITE SAME(16)",
      "93 09 00 00 00 00 00 00 08 00 00 00 01 00 00 00",
      "none",
      0,
    );
    expect(() => writeSame16({ lba: 0, blocks: 1, blockSize: 0 })).toThrow(/blockSize 0/);
    expect(() => writeSame16({ lba: 0, blocks: 2 ** 32, blockSize: 512 })).toThrow(/blocks/);
  });
  test("each call returns a fresh buffer", () => {
    const a = testUnitReady();
    a.cdb[0] = 0xff;
    expect(testUnitReady().cdb[0]).toBe(0);
  });
});
