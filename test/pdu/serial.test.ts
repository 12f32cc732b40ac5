// RFC 1982 serial number arithmetic on 32 bits, as RFC 7143 §4.2.2.1 uses it for the sequence numbers.

import { describe, expect, test } from "bun:test";
import {
  serialAdd,
  serialComparable,
  serialDistance,
  serialGe,
  serialGt,
  serialLe,
  serialLt,
} from "../../src/pdu/index.ts";

describe("serialAdd", () => {
  test("wraps at 2^32", () => {
    expect(serialAdd(0xffffffff, 1)).toBe(0);
    expect(serialAdd(0xfffffffe, 5)).toBe(3);
    expect(serialAdd(5, 0x7fffffff)).toBe(0x80000004);
  });
  test("stays unsigned", () => {
    expect(serialAdd(0x7fffffff, 1)).toBe(0x80000000);
  });
});

describe("serialDistance", () => {
  test("is signed and crosses the wrap", () => {
    expect(serialDistance(0xfffffff0, 0x10)).toBe(0x20);
    expect(serialDistance(0x10, 0xfffffff0)).toBe(-0x20);
    expect(serialDistance(7, 7)).toBe(0);
  });
  test("is -2^31 exactly at the undefined point", () => {
    expect(serialDistance(0, 0x80000000)).toBe(-0x80000000);
    expect(serialDistance(0x80000000, 0)).toBe(-0x80000000);
  });
});

describe("comparisons", () => {
  test("equal numbers are neither less nor greater", () => {
    expect(serialLt(9, 9)).toBe(false);
    expect(serialGt(9, 9)).toBe(false);
    expect(serialLt(0xffffffff, 0xffffffff)).toBe(false);
  });
  test("ordinary order", () => {
    expect(serialLt(1, 2)).toBe(true);
    expect(serialLt(2, 1)).toBe(false);
    expect(serialGt(2, 1)).toBe(true);
    expect(serialGt(1, 2)).toBe(false);
  });
  test("across the wrap at 2^32", () => {
    expect(serialLt(0xffffffff, 0)).toBe(true);
    expect(serialGt(0, 0xffffffff)).toBe(true);
    expect(serialLt(0xfffffff0, 0x0000000f)).toBe(true);
    expect(serialGt(0xfffffff0, 0x0000000f)).toBe(false);
  });
  test("at the largest defined distance 2^31 − 1", () => {
    expect(serialLt(0, 0x7fffffff)).toBe(true);
    expect(serialGt(0x7fffffff, 0)).toBe(true);
    expect(serialLt(0x80000001, 0)).toBe(true);
  });
  test("the 2^31 case is neither less nor greater, and not comparable", () => {
    for (const [a, b] of [
      [0, 0x80000000],
      [0x80000000, 0],
      [5, 0x80000005],
      [0xffffffff, 0x7fffffff],
    ] as const) {
      expect(serialLt(a, b)).toBe(false);
      expect(serialGt(a, b)).toBe(false);
      expect(serialComparable(a, b)).toBe(false);
    }
    expect(serialComparable(0, 0x7fffffff)).toBe(true);
    expect(serialComparable(3, 3)).toBe(true);
  });
  test("Le and Ge include equality", () => {
    expect(serialLe(9, 9)).toBe(true);
    expect(serialGe(9, 9)).toBe(true);
    expect(serialLe(0xffffffff, 0)).toBe(true);
    expect(serialGe(0xffffffff, 0)).toBe(false);
    expect(serialGe(0, 0xffffffff)).toBe(true);
    expect(serialLe(0, 0xffffffff)).toBe(false);
    expect(serialLe(0, 0x80000000)).toBe(false);
  });
});
