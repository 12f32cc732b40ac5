// CRC32C (Castagnoli) for the HeaderDigest and DataDigest of RFC 7143 §13.1 and §11.2.3, slicing-by-8.

// Reflected form of the generator 0x1EDC6F41 named in RFC 7143 §13.1.
const POLY = 0x82f63b78;

// Eight 256-entry tables in one array: entry [k*256 + b] is the CRC of byte b followed by k zero bytes.
const T = new Int32Array(8 * 256);
for (let b = 0; b < 256; b++) {
  let c = b;
  for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[b] = c;
}
for (let i = 256; i < T.length; i++) {
  const prev = T[i - 256]!;
  T[i] = T[prev & 0xff]! ^ (prev >>> 8);
}

/**
 * CRC32C of `data`, as an unsigned 32-bit number. Pass a previous result as `crc` to continue over
 * concatenated input: crc32c(b, crc32c(a)) === crc32c(a ‖ b).
 */
export function crc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc;
  let i = 0;
  const n = data.length;
  const end8 = n - (n & 7);
  while (i < end8) {
    const lo = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    c =
      T[1792 + (lo & 0xff)]! ^
      T[1536 + ((lo >>> 8) & 0xff)]! ^
      T[1280 + ((lo >>> 16) & 0xff)]! ^
      T[1024 + (lo >>> 24)]! ^
      T[768 + data[i + 4]!]! ^
      T[512 + data[i + 5]!]! ^
      T[256 + data[i + 6]!]! ^
      T[data[i + 7]!]!;
    i += 8;
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
