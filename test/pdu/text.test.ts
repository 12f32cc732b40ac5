// The RFC 7143 §6.1 text format: strict pairs, value grammars, binary values, TargetAddress, C-bit reassembly
// (reliability checklist cases 24–27, 34, 41).

import { describe, expect, test } from "bun:test";
import {
  LOGIN_TEXT_CAP,
  SENDTARGETS_TEXT_CAP,
  TextAccumulator,
  TextFormatError,
  decodeBinary,
  encodeHex,
  encodeTextKeys,
  parseBoolean,
  parseList,
  parseNumber,
  parseRange,
  parseTargetAddress,
  parseTextKeys,
} from "../../src/pdu/text.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const parse = (s: string) => parseTextKeys(bytes(s));
const rejects = (f: () => unknown, message: RegExp) => {
  expect(f).toThrow(TextFormatError);
  expect(f).toThrow(message);
};

describe("parseTextKeys", () => {
  test("ordered pairs, every one NUL-terminated; values may hold '=' and be empty", () => {
    expect(parse("HeaderDigest=None\0X-com.example.k=a=b\0TargetAlias=\0")).toEqual([
      ["HeaderDigest", "None"],
      ["X-com.example.k", "a=b"],
      ["TargetAlias", ""],
    ]);
    expect(parse("")).toEqual([]);
    expect(parse("X#NodeArchitecture=x\0")).toEqual([["X#NodeArchitecture", "x"]]);
  });
  test("the error has code PROTOCOL", () => {
    try {
      parse("A=1");
      throw new Error("no throw");
    } catch (err) {
      expect((err as TextFormatError).code).toBe("PROTOCOL");
    }
  });
  test("a missing final NUL is an error", () => rejects(() => parse("A=1\0B=2"), /unterminated/));
  test("empty pair, key without '=', empty key", () => {
    rejects(() => parse("A=1\0\0"), /empty key=value pair at byte 4/);
    rejects(() => parse("\0"), /empty key=value pair/);
    rejects(() => parse("AB\0"), /has no '='/);
    rejects(() => parse("=1\0"), /not a valid key name/);
  });
  test("key grammar: upper-case first letter, letters digits . - + @ _", () => {
    rejects(() => parse("lower=1\0"), /not a valid key name/);
    rejects(() => parse("A B=1\0"), /not a valid key name/);
    rejects(() => parse("1A=1\0"), /not a valid key name/);
    rejects(() => parse("A\u00e9=1\0"), /not a valid key name/);
    expect(parse("A.b-c+d@e_f9=1\0")).toEqual([["A.b-c+d@e_f9", "1"]]);
  });
  test("__proto__ and constructor are not keys and cannot reach an object", () => {
    rejects(() => parse("__proto__=1\0"), /not a valid key name/);
    rejects(() => parse("constructor=1\0"), /not a valid key name/);
  });
  test("key 63 bytes passes, 64 bytes fails", () => {
    expect(parse(`K${"a".repeat(62)}=1\0`)[0]?.[0]).toHaveLength(63);
    rejects(() => parse(`K${"a".repeat(63)}=1\0`), /64 bytes, over 63/);
  });
  test("value 255 bytes passes, 256 fails; names 223/224; CHAP_C up to 1024 bytes of hex", () => {
    expect(parse(`TargetAlias=${"v".repeat(255)}\0`)[0]?.[1]).toHaveLength(255);
    rejects(() => parse(`TargetAlias=${"v".repeat(256)}\0`), /TargetAlias is 256 bytes, over 255/);
    expect(parse(`TargetName=${"n".repeat(223)}\0`)).toHaveLength(1);
    rejects(() => parse(`TargetName=${"n".repeat(224)}\0`), /over 223/);
    expect(parse(`CHAP_C=0x${"ab".repeat(1024)}\0`)).toHaveLength(1);
    rejects(() => parse(`CHAP_C=0x${"ab".repeat(1025)}\0`), /over 2050/);
  });
  test("caller-supplied value limits", () => {
    const data = bytes(`TargetAddress=${"a".repeat(300)}\0`);
    expect(parseTextKeys(data, { valueLimit: () => 1000 })).toHaveLength(1);
  });
  test("invalid UTF-8 and an embedded NUL are rejected", () => {
    rejects(() => parseTextKeys(Uint8Array.of(0x41, 0x3d, 0xc3, 0x28, 0)), /not valid UTF-8/);
    rejects(() => parse("TargetAlias=ab\0cd\0"), /has no '='/);
    expect(parse("TargetAlias=d\u00e9j\u00e0\0")).toEqual([["TargetAlias", "d\u00e9j\u00e0"]]);
  });
});

describe("encodeTextKeys", () => {
  test("NUL after every pair, round trip", () => {
    const pairs: Array<[string, string]> = [
      ["InitiatorName", "iqn.2024-01.org.example:i"],
      ["InitiatorAlias", "h\u00f4te"],
    ];
    const data = encodeTextKeys(pairs);
    expect(data[data.length - 1]).toBe(0);
    expect(parseTextKeys(data)).toEqual(pairs);
  });
  test("refuses keys we must never send", () => {
    expect(() => encodeTextKeys([["bad key", "1"]])).toThrow(RangeError);
    expect(() => encodeTextKeys([["A", "x\0y"]])).toThrow(RangeError);
  });
});

describe("TextAccumulator (C bit)", () => {
  const text = encodeTextKeys([
    ["TargetName", "iqn.2024-01.org.example.storage:disk-array-0001"],
    ["TargetAddress", "storage-array.example.net:3260,1"],
  ]);
  /** Appends `data` in exactly n non-empty pieces, so every pair boundary lands somewhere inside a piece. */
  const splitInto = (data: Uint8Array, n: number) => {
    const acc = new TextAccumulator(LOGIN_TEXT_CAP, "text");
    for (let i = 0; i < n; i++)
      acc.append(data.subarray(Math.floor((i * data.length) / n), Math.floor(((i + 1) * data.length) / n)));
    return acc;
  };
  for (const n of [2, 3, 100]) {
    test(`pairs split across ${n} PDUs are reassembled`, () => {
      expect(text.length).toBeGreaterThan(100);
      const acc = splitInto(text, n);
      expect(acc.size).toBe(text.length);
      expect(acc.finish()).toEqual([
        ["TargetName", "iqn.2024-01.org.example.storage:disk-array-0001"],
        ["TargetAddress", "storage-array.example.net:3260,1"],
      ]);
      expect(acc.size).toBe(0);
    });
  }
  test("copies its input: the caller may reuse its buffer", () => {
    const buf = bytes("A=1\0");
    const acc = new TextAccumulator(64, "text");
    acc.append(buf);
    buf.fill(0x5a);
    expect(acc.finish()).toEqual([["A", "1"]]);
  });
  test("never-ending continuation is cut at the cap with a clear error", () => {
    expect(LOGIN_TEXT_CAP).toBe(65536);
    expect(SENDTARGETS_TEXT_CAP).toBe(1048576);
    const acc = new TextAccumulator(LOGIN_TEXT_CAP, "login response text");
    const chunk = new Uint8Array(8192).fill(0x41);
    for (let i = 0; i < 8; i++) acc.append(chunk);
    rejects(() => acc.append(Uint8Array.of(0x41)), /login response text continued \(C bit\) past 65536 bytes/);
  });
  test("a split ending without NUL is an error once complete", () => {
    const acc = new TextAccumulator(64, "text");
    acc.append(bytes("A=1\0B"));
    acc.append(bytes("=2"));
    expect(() => acc.finish()).toThrow(/unterminated/);
  });
});

describe("numbers (case 24)", () => {
  test("decimal and hex accepted", () => {
    expect(parseNumber("0", "K")).toBe(0);
    expect(parseNumber("8192", "K")).toBe(8192);
    expect(parseNumber("0x2000", "K")).toBe(8192);
    expect(parseNumber("0X00ff", "K")).toBe(255);
  });
  for (const bad of ["+5", " 5", "5 ", "1e3", "0x", "0b", "-1", "", "05", "12abc", "0x1g", "5.0", "\u0665"]) {
    test(`${JSON.stringify(bad)} rejected`, () =>
      rejects(() => parseNumber(bad, "MaxBurstLength"), /MaxBurstLength=.* is not a number/));
  }
  test("range and 2^64 bounds", () => {
    rejects(() => parseNumber("4294967296", "K", 0, 2 ** 32 - 1), /outside 0–4294967295/);
    rejects(() => parseNumber("18446744073709551616", "K", 0n, 2n ** 64n), /not below 2\^64/);
    rejects(() => parseNumber("0x10000000000000000", "K", 0n, 2n ** 64n), /not below 2\^64/);
    expect(parseNumber("18446744073709551615", "K", 0n, 2n ** 64n - 1n)).toBe(2n ** 64n - 1n);
    rejects(() => parseNumber("18446744073709551615", "K"), /outside/);
    rejects(() => parseNumber("511", "MaxRecvDataSegmentLength", 512, 16777215), /outside 512–16777215/);
  });
});

describe("booleans, ranges, lists (case 25)", () => {
  test("Yes/No only", () => {
    expect(parseBoolean("Yes", "K")).toBe(true);
    expect(parseBoolean("No", "K")).toBe(false);
    for (const bad of ["yes", "YES", "no", "Maybe", "", "Yes "])
      rejects(() => parseBoolean(bad, "InitialR2T"), /InitialR2T=.* is not Yes or No/);
  });
  test("ranges", () => {
    expect(parseRange("1~5", "K")).toEqual([1, 5]);
    expect(parseRange("7~7", "K")).toEqual([7, 7]);
    rejects(() => parseRange("5~1", "K"), /below lower bound/);
    rejects(() => parseRange("1~2~3", "K"), /not a range/);
    rejects(() => parseRange("1~", "K"), /not a number/);
  });
  test("lists", () => {
    expect(parseList("CRC32C,None", "K")).toEqual(["CRC32C", "None"]);
    for (const bad of ["", "a,", ",a", "a,,b"]) rejects(() => parseList(bad, "K"), /empty item/);
  });
});

describe("binary values (cases 34, 41)", () => {
  test("hex and base64 of the same bytes", () => {
    expect(decodeBinary("0x0aFF", "CHAP_C")).toEqual(Uint8Array.of(10, 255));
    expect(decodeBinary("0X0aff", "CHAP_C")).toEqual(Uint8Array.of(10, 255));
    expect(decodeBinary("0bCv8=", "CHAP_C")).toEqual(Uint8Array.of(10, 255));
    expect(decodeBinary("0BAQID", "CHAP_C")).toEqual(Uint8Array.of(1, 2, 3));
  });
  test("1 and 1024 bytes accepted in both encodings; 0 and 1025 rejected", () => {
    const b1024 = new Uint8Array(1024).map((_, i) => i);
    expect(decodeBinary(`0x${"7f"}`, "CHAP_C")).toHaveLength(1);
    expect(decodeBinary(`0b${Buffer.from([7]).toString("base64")}`, "CHAP_C")).toHaveLength(1);
    expect(decodeBinary(encodeHex(b1024), "CHAP_C")).toEqual(b1024);
    expect(decodeBinary(`0b${Buffer.from(b1024).toString("base64")}`, "CHAP_C")).toEqual(b1024);
    rejects(() => decodeBinary(`0x${"00".repeat(1025)}`, "CHAP_C"), /1025 bytes, over 1024/);
    rejects(() => decodeBinary(`0b${Buffer.alloc(1025).toString("base64")}`, "CHAP_C"), /1025 bytes, over 1024/);
    rejects(() => decodeBinary("0x", "CHAP_C"), /empty/);
    rejects(() => decodeBinary("0b", "CHAP_C"), /empty/);
  });
  test("bad encodings", () => {
    rejects(() => decodeBinary("0xabc", "CHAP_C"), /odd number of hex digits/);
    rejects(() => decodeBinary("0xzz", "CHAP_C"), /non-hex/);
    rejects(() => decodeBinary("0x 0a", "CHAP_C"), /non-hex/);
    rejects(() => decodeBinary("0bAQI", "CHAP_C"), /not valid base64/);
    rejects(() => decodeBinary("0bA*ID", "CHAP_C"), /not valid base64/);
    rejects(() => decodeBinary("0b=AQI", "CHAP_C"), /not valid base64/);
    rejects(() => decodeBinary("0bQR==", "CHAP_C"), /not canonical/);
    rejects(() => decodeBinary("1234", "CHAP_C"), /neither 0x-hex nor 0b-base64/);
    rejects(() => decodeBinary("", "CHAP_R"), /CHAP_R is neither/);
  });
  test("encodeHex", () => {
    expect(encodeHex(Uint8Array.of(0, 1, 0xab))).toBe("0x0001ab");
    expect(encodeHex(new Uint8Array(8).subarray(2, 4).fill(0xcd))).toBe("0xcdcd");
  });
});

describe("parseTargetAddress", () => {
  test("names, IPv4, bracketed IPv6, default port, portal group tag", () => {
    expect(parseTargetAddress("target.example.com")).toEqual({ host: "target.example.com", port: 3260 });
    expect(parseTargetAddress("10.1.2.3:3261,5")).toEqual({ host: "10.1.2.3", port: 3261, portalGroupTag: 5 });
    expect(parseTargetAddress("[::1]:3260,1")).toEqual({ host: "::1", port: 3260, portalGroupTag: 1 });
    expect(parseTargetAddress("[fe80::1:2]")).toEqual({ host: "fe80::1:2", port: 3260 });
    expect(parseTargetAddress("host,0")).toEqual({ host: "host", port: 3260, portalGroupTag: 0 });
  });
  for (const bad of [
    "[::1",
    "[::1]x",
    "host:99999,x",
    "host:0",
    "host:",
    "host:+1",
    "host:3260,",
    "host:3260,70000",
    "::1",
    "999.1.1.1",
    "1.2.3",
    "-bad.example",
    "a..b",
    "",
    "[fe80::1%eth0]",
    "[10.0.0.1]",
    "host:3260:1",
    "ho st",
  ]) {
    test(`${JSON.stringify(bad)} rejected`, () => rejects(() => parseTargetAddress(bad), /TargetAddress/));
  }
});
