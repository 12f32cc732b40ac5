// CHAP primitives, RFC 7143 §12.1.3 / RFC 1994: known-answer vectors for algorithms 5–8 (checklist 38, 40).

import { describe, expect, test } from "bun:test";
import {
  CHAP_ALGORITHMS,
  DEFAULT_CHAP_ALGORITHMS,
  chapAlgorithm,
  chapResponse,
  newChallenge,
  sameBytes,
} from "../../src/login/chap.ts";

const ascii = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

// Computed independently with python3 hashlib.new(alg, bytes([id]) + secret + challenge) and cross-checked with
// `openssl dgst -md5|-sha1|-sha256|-sha3-256` on the same bytes (OpenSSL 3.0.19).
const VECTORS: Array<{ id: number; secret: Uint8Array; challenge: Uint8Array; expect: Record<number, string> }> = [
  {
    id: 0x01,
    secret: ascii("0123456789abcdef"),
    challenge: Uint8Array.from({ length: 16 }, (_, i) => i),
    expect: {
      5: "048215ee8ea35eb951f4ad462482d8b0",
      6: "1c1bf2026d0694622918b1a5fd42be9a330be83e",
      7: "fe2c01c121d53ac3585b44fc4c9ee85d87430be131e07e0b3d43fd66a1cb8166",
      8: "41a572698044cdf55f747cbc62cd23af0e5f3944aeb697a9deb758204876ab55",
    },
  },
  {
    id: 0xff,
    secret: ascii("iSCSI-CHAP-secret!"),
    challenge: new Uint8Array(32).fill(0xa5),
    expect: {
      5: "3ff365b6c2fb635621230e346549d4c4",
      6: "12fb8063b44abeeecc8c6bef2c9782f9fac1759d",
      7: "e30826b2261df4e4fb3c14b379ef76f192812f44db4d230e3a74a25c6dc80990",
      8: "5f4d906e5fe52c258e4b006c3864c985af2d75775f56e4c8d4173c8968c534ba",
    },
  },
  {
    id: 0x00,
    secret: ascii("s"),
    challenge: Uint8Array.of(0),
    expect: {
      5: "ebfc7bd1773058a02233afbe58789688",
      6: "61a6b0114ec6c76da19e0509d297dd24a1cfd43e",
      7: "ae61a9de0d3ecd778e10229488ad49cca98127da9e0ff7067245d287611771a5",
      8: "0ecb6bd5e67c9111e73d3137808812f13505843e31e10ef9a821e6edb911ffc6",
    },
  },
];

describe("chapResponse known answers", () => {
  for (const [n, v] of VECTORS.entries()) {
    for (const alg of [5, 6, 7, 8]) {
      test(`vector ${n}, CHAP_A=${alg} (${chapAlgorithm(alg).name})`, () => {
        const r = chapResponse(alg, v.id, v.secret, v.challenge);
        expect(r.length).toBe(chapAlgorithm(alg).size);
        expect(hex(r)).toBe(v.expect[alg] as string);
      });
    }
  }
  test("the identifier is one octet", () => {
    expect(() => chapResponse(5, 256, ascii("x"), Uint8Array.of(1))).toThrow(RangeError);
    expect(() => chapResponse(5, -1, ascii("x"), Uint8Array.of(1))).toThrow(RangeError);
    expect(() => chapResponse(5, 1.5, ascii("x"), Uint8Array.of(1))).toThrow(RangeError);
  });
  test("unknown algorithms are refused", () => {
    expect(() => chapResponse(4, 0, ascii("x"), Uint8Array.of(1))).toThrow(/unsupported CHAP algorithm 4/);
  });
});

describe("algorithms and challenges", () => {
  test("the table: 5 MD5/16, 6 SHA-1/20, 7 SHA-256/32, 8 SHA3-256/32", () => {
    expect([...CHAP_ALGORITHMS.values()].map((a) => [a.id, a.name, a.size])).toEqual([
      [5, "MD5", 16],
      [6, "SHA-1", 20],
      [7, "SHA-256", 32],
      [8, "SHA3-256", 32],
    ]);
  });
  test("default preference is strongest first and still offers MD5", () => {
    expect(DEFAULT_CHAP_ALGORITHMS).toEqual([7, 8, 6, 5]);
  });
  test("challenge length equals the digest length; identifier from the same random draw", () => {
    for (const alg of [5, 6, 7, 8]) {
      const { identifier, challenge } = newChallenge(alg);
      expect(challenge.length).toBe(chapAlgorithm(alg).size);
      expect(identifier).toBeGreaterThanOrEqual(0);
      expect(identifier).toBeLessThanOrEqual(255);
    }
    const fixed = newChallenge(5, (n) => Uint8Array.from({ length: n }, (_, i) => i + 9));
    expect(fixed.identifier).toBe(9);
    expect(fixed.challenge).toEqual(Uint8Array.from({ length: 16 }, (_, i) => i + 10));
    expect(() => newChallenge(5, () => new Uint8Array(3))).toThrow(RangeError);
  });
  test("10 000 challenges never repeat (CSPRNG)", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(hex(newChallenge(7).challenge));
    expect(seen.size).toBe(10_000);
  });
  test("sameBytes", () => {
    expect(sameBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(sameBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(sameBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3))).toBe(false);
  });
});
