// CHAP as used by iSCSI login, RFC 7143 §12.1.3 over RFC 1994: the algorithms, the response
// H(identifier ‖ secret ‖ challenge), random challenges and the comparisons the security rules of §9.2.1 need.

import { createHash, timingSafeEqual } from "node:crypto";

export interface ChapAlgorithm {
  readonly id: number; // CHAP_A value, IANA "PPP Authentication Algorithms"
  readonly name: string;
  readonly hash: string; // node:crypto name
  readonly size: number; // digest bytes; CHAP_R must be exactly this long
}

/** 5 = MD5 (RFC 7143 §12.1.3, mandatory to offer), 6 = SHA-1, 7 = SHA-256, 8 = SHA3-256 (IANA registry). */
export const CHAP_ALGORITHMS: ReadonlyMap<number, ChapAlgorithm> = new Map(
  [
    { id: 5, name: "MD5", hash: "md5", size: 16 },
    { id: 6, name: "SHA-1", hash: "sha1", size: 20 },
    { id: 7, name: "SHA-256", hash: "sha256", size: 32 },
    { id: 8, name: "SHA3-256", hash: "sha3-256", size: 32 },
  ].map((a) => [a.id, Object.freeze(a)]),
);

/** Strongest first; MD5 last but present, as RFC 7143 §12.1.3 requires initiators to offer it. */
export const DEFAULT_CHAP_ALGORITHMS: readonly number[] = Object.freeze([7, 8, 6, 5]);

/** RFC 7143 §9.2.1: a secret with fewer than 96 random bits needs IPsec; we refuse shorter ones by default. */
export const MIN_SECRET_BYTES = 12;

export function chapAlgorithm(id: number): ChapAlgorithm {
  const alg = CHAP_ALGORITHMS.get(id);
  if (!alg) throw new RangeError(`unsupported CHAP algorithm ${id}`);
  return alg;
}

/** RFC 1994 §4.1: Response = H(Identifier ‖ secret ‖ Challenge), the identifier being one octet. */
export function chapResponse(
  algorithm: number,
  identifier: number,
  secret: Uint8Array,
  challenge: Uint8Array,
): Uint8Array {
  if (!Number.isInteger(identifier) || identifier < 0 || identifier > 255) {
    throw new RangeError(`CHAP identifier ${identifier} is not one octet`);
  }
  const h = createHash(chapAlgorithm(algorithm).hash);
  h.update(Uint8Array.of(identifier));
  h.update(secret);
  h.update(challenge);
  return new Uint8Array(h.digest());
}

export type RandomBytes = (length: number) => Uint8Array;
export const cryptoRandomBytes: RandomBytes = (length) => crypto.getRandomValues(new Uint8Array(length));

/**
 * Our mutual-CHAP identifier and challenge from a CSPRNG. The challenge is as long as the digest
 * (16/20/32 bytes): as much entropy as the response can carry, and the length targets are tested with.
 */
export function newChallenge(
  algorithm: number,
  random: RandomBytes = cryptoRandomBytes,
): { identifier: number; challenge: Uint8Array } {
  const size = chapAlgorithm(algorithm).size;
  const bytes = random(size + 1);
  if (bytes.length !== size + 1) throw new RangeError("random source returned the wrong length");
  return { identifier: bytes[0] ?? 0, challenge: bytes.slice(1) };
}

/** Equal bytes, in time independent of where they differ; different lengths are simply unequal. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
