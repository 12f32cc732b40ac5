// RFC 1982 serial number arithmetic on 32 bits, as RFC 7143 §4.2.2.1 requires for CmdSN, StatSN, DataSN and R2TSN.

const HALF = 0x80000000;

/** a + n modulo 2^32 (RFC 1982 §3.1; n should be below 2^31 to stay meaningful). */
export function serialAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/**
 * Signed number of steps from a forward to b, in [-2^31, 2^31). The result -2^31 means the two are exactly
 * 2^31 apart, where RFC 1982 §3.2 leaves the order undefined.
 */
export function serialDistance(a: number, b: number): number {
  return (b - a) | 0;
}

/** False exactly when a and b are 2^31 apart, the one case RFC 1982 does not order. */
export function serialComparable(a: number, b: number): boolean {
  return serialDistance(a, b) !== -HALF;
}

/** a < b in serial arithmetic; false in the undefined 2^31 case. */
export function serialLt(a: number, b: number): boolean {
  return serialDistance(a, b) > 0;
}

/** a > b in serial arithmetic; false in the undefined 2^31 case. */
export function serialGt(a: number, b: number): boolean {
  const d = serialDistance(a, b);
  return d < 0 && d !== -HALF;
}

export function serialLe(a: number, b: number): boolean {
  return a >>> 0 === b >>> 0 || serialLt(a, b);
}

export function serialGe(a: number, b: number): boolean {
  return a >>> 0 === b >>> 0 || serialGt(a, b);
}
