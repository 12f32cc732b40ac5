// CRC32C vectors of RFC 3720 App. B.4 (carried into RFC 7143), continuation, and the digest byte order of §13.1.

import { describe, expect, test } from "bun:test";
import { crc32c, readDigest, writeDigest } from "../../src/pdu/index.ts";

/** Bit-at-a-time CRC32C, structurally unlike the table-driven code under test. */
function reference(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const ascending = Uint8Array.from({ length: 32 }, (_, i) => i);
const descending = Uint8Array.from({ length: 32 }, (_, i) => 31 - i);
// RFC 3720 App. B.4: the SCSI Read (10) Command PDU, whose CRC the RFC prints as the wire bytes 56 3a 96 d9.
const read10 = Uint8Array.from([
  0x01, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x14, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0x14, 0, 0, 0, 0x18,
  0x28, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0,
]);

describe("known vectors", () => {
  test.each([
    ["32 × 0x00", new Uint8Array(32), 0x8a9136aa],
    ["32 × 0xFF", new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ["bytes 0..31", ascending, 0x46dd794e],
    ["bytes 31..0", descending, 0x113fdb5c],
    ['"123456789"', new TextEncoder().encode("123456789"), 0xe3069283],
    ["Read (10) PDU", read10, 0xd9963a56],
    ["empty", new Uint8Array(0), 0],
  ] as const)("%s", (_, data, crc) => {
    expect(crc32c(data)).toBe(crc);
  });
});

test("results are unsigned", () => {
  expect(crc32c(new Uint8Array(32).fill(0xff))).toBeGreaterThan(0);
  expect(crc32c(new Uint8Array(32))).toBeGreaterThan(0x7fffffff);
});

test("matches a bit-at-a-time reference for every length 0..80 and unaligned starts", () => {
  const base = Uint8Array.from({ length: 96 }, (_, i) => (i * 167 + 13) & 0xff);
  for (let start = 0; start < 8; start++) {
    for (let n = 0; n <= 80; n++) {
      const data = base.subarray(start, start + n);
      expect(crc32c(data)).toBe(reference(data));
    }
  }
});

test("continuing from a previous result equals one pass, at every split", () => {
  const data = Uint8Array.from({ length: 100 }, (_, i) => (i * 31 + 7) & 0xff);
  const whole = crc32c(data);
  for (let i = 0; i <= data.length; i++) {
    expect(crc32c(data.subarray(i), crc32c(data.subarray(0, i)))).toBe(whole);
  }
});

describe("digest byte order on the wire", () => {
  test("least-significant byte first, as RFC 3720 App. B.4 prints it", () => {
    const wire = new Uint8Array(4);
    writeDigest(wire, 0, crc32c(new Uint8Array(32)));
    expect(Array.from(wire)).toEqual([0xaa, 0x36, 0x91, 0x8a]);
    writeDigest(wire, 0, crc32c(read10));
    expect(Array.from(wire)).toEqual([0x56, 0x3a, 0x96, 0xd9]);
  });
  test("readDigest inverts writeDigest at any offset", () => {
    const buf = new Uint8Array(11);
    writeDigest(buf, 7, 0xdeadbeef);
    expect(Array.from(buf.subarray(7))).toEqual([0xef, 0xbe, 0xad, 0xde]);
    expect(readDigest(buf, 7)).toBe(0xdeadbeef);
  });
  test("the CRC over data followed by its digest is the constant residue", () => {
    for (const data of [read10, ascending, new Uint8Array(5).fill(9)]) {
      const withDigest = new Uint8Array(data.length + 4);
      withDigest.set(data);
      writeDigest(withDigest, data.length, crc32c(data));
      expect(crc32c(withDigest)).toBe(0x48674bc7);
    }
  });
});
