// CRC32C (Castagnoli) for the HeaderDigest and DataDigest of RFC 7143 §11.2.3 and §13.1: slicing-by-16,
// reading the data as 32-bit little-endian words (about 2 GB/s in Bun, twice slicing-by-8 on bytes).

// Reflected form of the generator 0x1EDC6F41 named in RFC 7143 §13.1.
const POLY = 0x82f63b78;
const SLICES = 16;

// SLICES 256-entry tables in one array: entry [k*256 + b] is the CRC of byte b followed by k zero bytes.
const T = new Int32Array(SLICES * 256);
for (let b = 0; b < 256; b++) {
  let c = b;
  for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[b] = c;
}
for (let i = 256; i < T.length; i++) {
  const prev = T[i - 256]!;
  T[i] = T[prev & 0xff]! ^ (prev >>> 8);
}

// Word loads see the bytes in memory order only on a little-endian host (every platform we ship for).
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * CRC32C of `data`, as an unsigned 32-bit number. Pass a previous result as `crc` to continue over
 * concatenated input: crc32c(b, crc32c(a)) === crc32c(a ‖ b).
 */
export function crc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc;
  let i = 0;
  const n = data.length;
  // Bytes up to a 4-byte boundary, so the words below are aligned views of the same memory.
  while (i < n && (data.byteOffset + i) & 3) c = T[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
  const blocks = LITTLE_ENDIAN ? (n - i) >>> 4 : 0;
  if (blocks > 0) {
    const w = new Uint32Array(data.buffer, data.byteOffset + i, blocks * 4);
    for (let k = 0; k < w.length; k += 4) {
      const a = c ^ w[k]!;
      const b = w[k + 1]!;
      const d = w[k + 2]!;
      const e = w[k + 3]!;
      c =
        T[3840 + (a & 0xff)]! ^
        T[3584 + ((a >>> 8) & 0xff)]! ^
        T[3328 + ((a >>> 16) & 0xff)]! ^
        T[3072 + (a >>> 24)]! ^
        T[2816 + (b & 0xff)]! ^
        T[2560 + ((b >>> 8) & 0xff)]! ^
        T[2304 + ((b >>> 16) & 0xff)]! ^
        T[2048 + (b >>> 24)]! ^
        T[1792 + (d & 0xff)]! ^
        T[1536 + ((d >>> 8) & 0xff)]! ^
        T[1280 + ((d >>> 16) & 0xff)]! ^
        T[1024 + (d >>> 24)]! ^
        T[768 + (e & 0xff)]! ^
        T[512 + ((e >>> 8) & 0xff)]! ^
        T[256 + ((e >>> 16) & 0xff)]! ^
        T[e >>> 24]!;
    }
    i += blocks * 16;
  }
  while (i < n) c = T[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

// Byte order on the wire: the digest is sent least-significant byte first. The CRC is computed bit-reflected
// (bit 0 of byte 0 is the highest coefficient, RFC 7143 §13.1), so its low byte holds the first remainder
// bits; RFC 3720 App. B.4 prints the CRC of 32 zero bytes, 0x8A9136AA, as the wire bytes "aa 36 91 8a".
// Stored this way, the CRC over data‖digest is the constant residue 0x48674BC7, as Linux and libiscsi rely on.

/** Write a digest into its 4 wire bytes at `offset` (little-endian, see above). */
export function writeDigest(bytes: Uint8Array, offset: number, crc: number): void {
  bytes[offset] = crc & 0xff;
  bytes[offset + 1] = (crc >>> 8) & 0xff;
  bytes[offset + 2] = (crc >>> 16) & 0xff;
  bytes[offset + 3] = crc >>> 24;
}

/** Read the digest from its 4 wire bytes at `offset`, as an unsigned 32-bit number. */
export function readDigest(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}
