// Outgoing framing (RFC 7143 §11.2, §13.1): piece layout, padding, digests, no copies, no shared mutable buffers.

import { describe, expect, test } from "bun:test";
import { PduError, crc32c, encodeNopOut, encodeScsiCommand, framePdu, readDigest } from "../../src/pdu/index.ts";

const NONE = { headerDigest: false, dataDigest: false };
const BOTH = { headerDigest: true, dataDigest: true };

const nop = (dataSegmentLength = 0, totalAHSLength = 0) =>
  encodeNopOut({ lun: 0n, itt: 1, ttt: 0xffffffff, cmdSN: 2, expStatSN: 3, dataSegmentLength, totalAHSLength });

describe("without digests", () => {
  test("a PDU without data is the BHS itself", () => {
    const bhs = nop();
    const pieces = framePdu(bhs, undefined, NONE);
    expect(pieces).toHaveLength(1);
    expect(pieces[0]).toBe(bhs);
  });
  test("data of a multiple of 4 bytes: BHS and the data object, no padding", () => {
    const data = new Uint8Array(8).fill(7);
    const pieces = framePdu(nop(8), data, NONE);
    expect(pieces.map((p) => p.length)).toEqual([48, 8]);
    expect(pieces[1]).toBe(data);
  });
  test.each([1, 2, 3])("data of 4k+%d bytes is followed by zero padding", (rest) => {
    const data = new Uint8Array(4 + rest).fill(0xff);
    const pieces = framePdu(nop(data.length), data, NONE);
    expect(pieces.map((p) => p.length)).toEqual([48, data.length, 4 - rest]);
    expect(Array.from(pieces[2]!)).toEqual(new Array(4 - rest).fill(0));
  });
  test("empty data counts as none", () => {
    expect(framePdu(nop(), new Uint8Array(0), NONE)).toHaveLength(1);
  });
});

describe("with digests", () => {
  test("the header digest follows the BHS, little-endian CRC32C", () => {
    // RFC 3720 App. B.4's Read (10) PDU, whose CRC the RFC prints as 56 3a 96 d9.
    const bhs = encodeScsiCommand({
      final: true,
      read: true,
      write: false,
      attr: 0,
      lun: 0n,
      itt: 0x14000000,
      expectedDataTransferLength: 1024,
      cmdSN: 0x14,
      expStatSN: 0x18,
      cdb: Uint8Array.of(0x28, 0, 0, 0, 0, 0, 0, 0, 2),
    });
    const [header] = framePdu(bhs, undefined, BOTH);
    expect(header!.length).toBe(52);
    expect(header!.subarray(0, 48)).toEqual(bhs);
    expect(Array.from(header!.subarray(48))).toEqual([0x56, 0x3a, 0x96, 0xd9]);
  });
  test("the data digest covers data and padding and follows the padding", () => {
    const data = Uint8Array.of(1, 2, 3, 4, 5);
    const pieces = framePdu(nop(5), data, BOTH);
    expect(pieces.map((p) => p.length)).toEqual([52, 5, 3 + 4]);
    expect(pieces[1]).toBe(data);
    const tail = pieces[2]!;
    expect(Array.from(tail.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(readDigest(tail, 3)).toBe(crc32c(Uint8Array.of(1, 2, 3, 4, 5, 0, 0, 0)));
  });
  test("no data digest without data", () => {
    expect(framePdu(nop(), undefined, { headerDigest: false, dataDigest: true })).toHaveLength(1);
  });
  test("an AHS sits between BHS and header digest, which covers both", () => {
    const ahs = Uint8Array.of(0, 3, 1, 0, 0xa, 0xb, 0, 0);
    const [header] = framePdu(nop(0, 2), undefined, BOTH, ahs);
    expect(header!.length).toBe(48 + 8 + 4);
    expect(header!.subarray(48, 56)).toEqual(ahs);
    expect(readDigest(header!, 56)).toBe(crc32c(header!.subarray(0, 56)));
  });
});

test("pieces from one call survive later calls", () => {
  const first = framePdu(nop(3), Uint8Array.of(1, 2, 3), BOTH);
  const firstCopies = first.map((p) => p.slice());
  framePdu(nop(3), Uint8Array.of(9, 9, 9), BOTH);
  framePdu(nop(1), Uint8Array.of(4), NONE);
  expect(first).toEqual(firstCopies);
});

describe("consistency checks", () => {
  test("DataSegmentLength must match the data", () => {
    expect(() => framePdu(nop(4), new Uint8Array(5), NONE)).toThrow("DataSegmentLength 4 != data of 5 bytes");
    expect(() => framePdu(nop(4), undefined, NONE)).toThrow(PduError);
  });
  test("TotalAHSLength must match the AHS", () => {
    expect(() => framePdu(nop(0, 1), undefined, NONE)).toThrow("TotalAHSLength 1 words != AHS of 0 bytes");
    expect(() => framePdu(nop(), undefined, NONE, new Uint8Array(4))).toThrow(PduError);
  });
});
