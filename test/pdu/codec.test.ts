// Byte fixtures for every PDU encoder and decoder of RFC 7143 §11, plus bit positions and field ranges.

import { describe, expect, test } from "bun:test";
import {
  BHS_LENGTH,
  Opcode,
  PduError,
  type Pdu,
  decodeAsyncMessage,
  decodeDataIn,
  decodeDataOut,
  decodeLoginRequest,
  decodeLoginResponse,
  decodeLogoutRequest,
  decodeLogoutResponse,
  decodeNopIn,
  decodeNopOut,
  decodePdu,
  decodeR2T,
  decodeReject,
  decodeScsiCommand,
  decodeScsiResponse,
  decodeSnackRequest,
  decodeTaskMgmtRequest,
  decodeTaskMgmtResponse,
  decodeTextRequest,
  decodeTextResponse,
  encodeAsyncMessage,
  encodeDataIn,
  encodeDataOut,
  encodeExtendedCdbAhs,
  encodeLoginRequest,
  encodeLoginResponse,
  encodeLogoutRequest,
  encodeLogoutResponse,
  encodeNopIn,
  encodeNopOut,
  encodePdu,
  encodeR2T,
  encodeReject,
  encodeScsiCommand,
  encodeScsiResponse,
  encodeSnackRequest,
  encodeTaskMgmtRequest,
  encodeTaskMgmtResponse,
  encodeTextRequest,
  encodeTextResponse,
} from "../../src/pdu/index.ts";

/** Hex with any whitespace and "|" separators to bytes; "0*16" stands for 16 zero bytes. */
function hex(s: string): Uint8Array {
  const tokens = s
    .replace(/\|/g, " ")
    .trim()
    .split(/\s+/)
    .flatMap((t) => {
      const zeros = /^0\*(\d+)$/.exec(t);
      return zeros ? Array<string>(Number(zeros[1])).fill("00") : [t];
    });
  return Uint8Array.from(tokens, (t) => Number.parseInt(t, 16));
}

interface Case {
  name: string;
  bytes: string;
  fields: Record<string, unknown>;
  encode: (f: never, out?: Uint8Array) => Uint8Array;
  decode: (bhs: Uint8Array) => Pdu;
  decoded: Record<string, unknown>; // the common fields the decoder reports
}

const CDB_READ10 = hex("28 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00");
const ISID = 0x400001370000;

const CASES: Case[] = [
  {
    name: "NOP-Out",
    encode: encodeNopOut,
    decode: decodeNopOut,
    bytes:
      "40 80 00 00 | 00 00 00 08 | 00 01 00 00 00 00 00 00 | 11 22 33 44 | ff ff ff ff | 00 00 00 05 | 00 00 00 09 | 0*16",
    fields: {
      immediate: true,
      dataSegmentLength: 8,
      lun: 0x0001000000000000n,
      itt: 0x11223344,
      ttt: 0xffffffff,
      cmdSN: 5,
      expStatSN: 9,
    },
    decoded: { opcode: Opcode.NopOut, immediate: true, totalAHSLength: 0, dataSegmentLength: 8 },
  },
  {
    // RFC 3720 App. B.4, "An iSCSI - SCSI Read (10) Command PDU".
    name: "SCSI Command",
    encode: encodeScsiCommand,
    decode: decodeScsiCommand,
    bytes:
      "01 c0 00 00 | 0*4 | 0*8 | 14 00 00 00 | 00 00 04 00 | 00 00 00 14 | 00 00 00 18 | 28 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00",
    fields: {
      final: true,
      read: true,
      write: false,
      attr: 0,
      lun: 0n,
      itt: 0x14000000,
      expectedDataTransferLength: 1024,
      cmdSN: 0x14,
      expStatSN: 0x18,
      cdb: CDB_READ10,
    },
    decoded: { opcode: Opcode.ScsiCommand, immediate: false, totalAHSLength: 0, dataSegmentLength: 0 },
  },
  {
    name: "Task Management Function Request",
    encode: encodeTaskMgmtRequest,
    decode: decodeTaskMgmtRequest,
    bytes:
      "42 81 00 00 | 0*4 | 00 02 00 00 00 00 00 00 | 00 00 00 30 | 00 00 00 2a | 00 00 00 07 | 00 00 00 03 | 00 00 00 06 | 00 00 00 00 | 0*8",
    fields: {
      immediate: true,
      function: 1,
      lun: 0x0002000000000000n,
      itt: 0x30,
      referencedTaskTag: 0x2a,
      cmdSN: 7,
      expStatSN: 3,
      refCmdSN: 6,
      expDataSN: 0,
    },
    decoded: { opcode: Opcode.TaskMgmtRequest, immediate: true, totalAHSLength: 0, dataSegmentLength: 0 },
  },
  {
    name: "Login Request",
    encode: encodeLoginRequest,
    decode: decodeLoginRequest,
    bytes:
      "43 87 00 00 | 00 00 01 23 | 40 00 01 37 00 00 | 00 05 | 00 00 00 01 | 00 02 00 00 | 00 00 00 01 | 00 00 00 00 | 0*16",
    fields: {
      dataSegmentLength: 0x123,
      transit: true,
      continue: false,
      csg: 1,
      nsg: 3,
      versionMax: 0,
      versionMin: 0,
      isid: ISID,
      tsih: 5,
      itt: 1,
      cid: 2,
      cmdSN: 1,
      expStatSN: 0,
    },
    decoded: { opcode: Opcode.LoginRequest, immediate: true, totalAHSLength: 0, dataSegmentLength: 0x123 },
  },
  {
    name: "Text Request",
    encode: encodeTextRequest,
    decode: decodeTextRequest,
    bytes: "04 80 00 00 | 00 00 00 10 | 0*8 | 00 00 00 05 | ff ff ff ff | 00 00 00 02 | 00 00 00 01 | 0*16",
    fields: {
      dataSegmentLength: 16,
      final: true,
      continue: false,
      lun: 0n,
      itt: 5,
      ttt: 0xffffffff,
      cmdSN: 2,
      expStatSN: 1,
    },
    decoded: { opcode: Opcode.TextRequest, immediate: false, totalAHSLength: 0, dataSegmentLength: 16 },
  },
  {
    name: "Data-Out",
    encode: encodeDataOut,
    decode: decodeDataOut,
    bytes:
      "05 80 00 00 | 00 00 20 00 | 00 01 00 00 00 00 00 00 | 00 00 00 07 | 00 00 00 99 | 0*4 | 00 00 00 04 | 0*4 | 00 00 00 01 | 00 00 20 00 | 0*4",
    fields: {
      dataSegmentLength: 8192,
      final: true,
      lun: 0x0001000000000000n,
      itt: 7,
      ttt: 0x99,
      expStatSN: 4,
      dataSN: 1,
      bufferOffset: 8192,
    },
    decoded: { opcode: Opcode.DataOut, immediate: false, totalAHSLength: 0, dataSegmentLength: 8192 },
  },
  {
    name: "Logout Request",
    encode: encodeLogoutRequest,
    decode: decodeLogoutRequest,
    bytes: "46 80 00 00 | 0*4 | 0*8 | 00 00 00 0b | 00 03 00 00 | 00 00 00 0c | 00 00 00 0d | 0*16",
    fields: { immediate: true, reasonCode: 0, itt: 0x0b, cid: 3, cmdSN: 0x0c, expStatSN: 0x0d },
    decoded: { opcode: Opcode.LogoutRequest, immediate: true, totalAHSLength: 0, dataSegmentLength: 0 },
  },
  {
    name: "SNACK Request",
    encode: encodeSnackRequest,
    decode: decodeSnackRequest,
    bytes: "10 81 00 00 | 0*4 | 0*8 | 00 00 00 21 | ff ff ff ff | 0*4 | 00 00 00 44 | 0*8 | 00 00 00 10 | 00 00 00 02",
    fields: { type: 1, lun: 0n, itt: 0x21, ttt: 0xffffffff, expStatSN: 0x44, begRun: 0x10, runLength: 2 },
    decoded: { opcode: Opcode.SnackRequest, immediate: false, totalAHSLength: 0, dataSegmentLength: 0 },
  },
  {
    name: "NOP-In",
    encode: encodeNopIn,
    decode: decodeNopIn,
    bytes: "20 80 00 00 | 0*4 | 0*8 | ff ff ff ff | 00 00 00 77 | 00 00 00 10 | 00 00 00 11 | 00 00 00 30 | 0*12",
    fields: { lun: 0n, itt: 0xffffffff, ttt: 0x77, statSN: 0x10, expCmdSN: 0x11, maxCmdSN: 0x30 },
    decoded: { opcode: Opcode.NopIn, immediate: false, totalAHSLength: 0, dataSegmentLength: 0 },
  },
  {
    name: "SCSI Response",
    encode: encodeScsiResponse,
    decode: decodeScsiResponse,
    bytes:
      "21 8a 00 02 | 00 00 00 16 | 0*8 | 14 00 00 00 | 0*4 | 00 00 00 19 | 00 00 00 15 | 00 00 00 24 | 00 00 00 01 | 00 00 01 00 | 00 00 02 00",
    fields: {
      dataSegmentLength: 0x16,
      bidiReadResidualOverflow: false,
      bidiReadResidualUnderflow: true,
      residualOverflow: false,
      residualUnderflow: true,
      response: 0,
      status: 2,
      itt: 0x14000000,
      snackTag: 0,
      statSN: 0x19,
      expCmdSN: 0x15,
      maxCmdSN: 0x24,
      expDataSN: 1,
      bidirectionalReadResidualCount: 0x100,
      residualCount: 0x200,
    },
    decoded: { opcode: Opcode.ScsiResponse, immediate: false, totalAHSLength: 0, dataSegmentLength: 0x16 },
  },
  {
    name: "Task Management Function Response",
    encode: encodeTaskMgmtResponse,
    decode: decodeTaskMgmtResponse,
    bytes: "22 80 05 00 | 0*4 | 0*8 | 00 00 00 30 | 0*4 | 00 00 00 1a | 00 00 00 08 | 00 00 00 27 | 0*12",
    fields: { response: 5, itt: 0x30, statSN: 0x1a, expCmdSN: 8, maxCmdSN: 0x27 },
    decoded: { opcode: Opcode.TaskMgmtResponse, immediate: false, totalAHSLength: 0, dataSegmentLength: 0 },
  },
  {
    name: "Login Response",
    encode: encodeLoginResponse,
    decode: decodeLoginResponse,
    bytes:
      "23 87 00 00 | 00 00 02 00 | 40 00 01 37 00 00 01 05 | 00 00 00 01 | 0*4 | 00 00 0a bc | 00 00 00 01 | 00 00 00 21 | 02 01 00 00 | 0*8",
    fields: {
      dataSegmentLength: 0x200,
      transit: true,
      continue: false,
      csg: 1,
      nsg: 3,
      versionMax: 0,
      versionActive: 0,
      isid: ISID,
      tsih: 0x105,
      itt: 1,
      statSN: 0xabc,
      expCmdSN: 1,
      maxCmdSN: 0x21,
      statusClass: 2,
      statusDetail: 1,
    },
    decoded: { opcode: Opcode.LoginResponse, immediate: false, totalAHSLength: 0, dataSegmentLength: 0x200 },
  },
  {
    name: "Text Response",
    encode: encodeTextResponse,
    decode: decodeTextResponse,
    bytes:
      "24 40 00 00 | 00 00 10 00 | 0*8 | 00 00 00 05 | 00 00 12 34 | 00 00 00 11 | 00 00 00 03 | 00 00 00 12 | 0*12",
    fields: {
      dataSegmentLength: 4096,
      final: false,
      continue: true,
      lun: 0n,
      itt: 5,
      ttt: 0x1234,
      statSN: 0x11,
      expCmdSN: 3,
      maxCmdSN: 0x12,
    },
    decoded: { opcode: Opcode.TextResponse, immediate: false, totalAHSLength: 0, dataSegmentLength: 4096 },
  },
  {
    name: "Data-In",
    encode: encodeDataIn,
    decode: decodeDataIn,
    bytes:
      "25 83 00 00 | 00 01 00 00 | 0*8 | 14 00 00 00 | ff ff ff ff | 00 00 00 19 | 00 00 00 15 | 00 00 00 24 | 00 00 00 03 | 00 03 00 00 | 00 00 02 00",
    fields: {
      dataSegmentLength: 0x10000,
      final: true,
      acknowledge: false,
      residualOverflow: false,
      residualUnderflow: true,
      statusPresent: true,
      status: 0,
      lun: 0n,
      itt: 0x14000000,
      ttt: 0xffffffff,
      statSN: 0x19,
      expCmdSN: 0x15,
      maxCmdSN: 0x24,
      dataSN: 3,
      bufferOffset: 0x30000,
      residualCount: 0x200,
    },
    decoded: { opcode: Opcode.DataIn, immediate: false, totalAHSLength: 0, dataSegmentLength: 0x10000 },
  },
  {
    name: "Logout Response",
    encode: encodeLogoutResponse,
    decode: decodeLogoutResponse,
    bytes:
      "26 80 00 00 | 0*4 | 0*8 | 00 00 00 0b | 0*4 | 00 00 00 0e | 00 00 00 0d | 00 00 00 1d | 0*4 | 00 02 00 14 | 0*4",
    fields: { response: 0, itt: 0x0b, statSN: 0x0e, expCmdSN: 0x0d, maxCmdSN: 0x1d, time2Wait: 2, time2Retain: 20 },
    decoded: { opcode: Opcode.LogoutResponse, immediate: false, totalAHSLength: 0, dataSegmentLength: 0 },
  },
  {
    name: "R2T",
    encode: encodeR2T,
    decode: decodeR2T,
    bytes:
      "31 80 00 00 | 0*4 | 00 01 00 00 00 00 00 00 | 00 00 00 07 | 00 00 00 99 | 00 00 00 20 | 00 00 00 08 | 00 00 00 28 | 00 00 00 01 | 00 00 10 00 | 00 04 00 00",
    fields: {
      lun: 0x0001000000000000n,
      itt: 7,
      ttt: 0x99,
      statSN: 0x20,
      expCmdSN: 8,
      maxCmdSN: 0x28,
      r2tSN: 1,
      bufferOffset: 0x1000,
      desiredDataTransferLength: 0x40000,
    },
    decoded: { opcode: Opcode.R2T, immediate: false, totalAHSLength: 0, dataSegmentLength: 0 },
  },
  {
    name: "Asynchronous Message",
    encode: encodeAsyncMessage,
    decode: decodeAsyncMessage,
    bytes:
      "32 80 00 00 | 0*4 | 0*8 | ff ff ff ff | 0*4 | 00 00 00 40 | 00 00 00 22 | 00 00 00 41 | 01 00 00 03 | 00 02 00 14 | 0*4",
    fields: {
      lun: 0n,
      itt: 0xffffffff,
      statSN: 0x40,
      expCmdSN: 0x22,
      maxCmdSN: 0x41,
      asyncEvent: 1,
      asyncVCode: 0,
      parameter1: 3,
      parameter2: 2,
      parameter3: 20,
    },
    decoded: { opcode: Opcode.AsyncMessage, immediate: false, totalAHSLength: 0, dataSegmentLength: 0 },
  },
  {
    name: "Reject",
    encode: encodeReject,
    decode: decodeReject,
    bytes:
      "3f 80 09 00 | 00 00 00 30 | 0*8 | ff ff ff ff | 0*4 | 00 00 00 33 | 00 00 00 22 | 00 00 00 41 | 00 00 00 05 | 0*8",
    fields: {
      dataSegmentLength: 48,
      reason: 9,
      itt: 0xffffffff,
      statSN: 0x33,
      expCmdSN: 0x22,
      maxCmdSN: 0x41,
      dataSNOrR2TSN: 5,
    },
    decoded: { opcode: Opcode.Reject, immediate: false, totalAHSLength: 0, dataSegmentLength: 48 },
  },
];

/** The decoded record of a case: its fields minus encoder-only Common inputs, plus what the decoder reports. */
const expected = (c: Case): Pdu => ({ ...c.fields, ...c.decoded }) as unknown as Pdu;
const fieldsOf = (name: string): Record<string, unknown> => CASES.find((c) => c.name === name)!.fields;

test("the fixtures cover all 18 PDU types", () => {
  expect(new Set(CASES.map((c) => c.decoded.opcode))).toEqual(new Set(Object.values(Opcode)));
});

describe.each(CASES)("$name", (c) => {
  const bytes = hex(c.bytes);
  test("fixture is 48 bytes", () => expect(bytes.length).toBe(BHS_LENGTH));
  test("encoder writes the fixture", () => expect(c.encode(c.fields as never)).toEqual(bytes));
  test("decoder reads the fixture", () => expect(c.decode(bytes)).toEqual(expected(c)));
  test("decodePdu and encodePdu round trip", () => {
    const pdu = decodePdu(bytes);
    expect(pdu).toEqual(expected(c));
    expect(encodePdu(pdu)).toEqual(bytes);
  });
  test("encoder zeroes a dirty output buffer and returns it", () => {
    const out: Uint8Array = new Uint8Array(BHS_LENGTH).fill(0xaa);
    expect(c.encode(c.fields as never, out)).toBe(out);
    expect(out).toEqual(bytes);
  });
  test("decoder reads a BHS at a non-zero byteOffset", () => {
    const big = new Uint8Array(7 + BHS_LENGTH + 5).fill(0xee);
    big.set(bytes, 7);
    expect(c.decode(big.subarray(7, 7 + BHS_LENGTH))).toEqual(expected(c));
  });
  test("decoder rejects another opcode and a short BHS", () => {
    const other = bytes.slice();
    other[0] = c.decoded.opcode === Opcode.NopOut ? Opcode.NopIn : Opcode.NopOut;
    expect(() => c.decode(other)).toThrow(PduError);
    expect(() => c.decode(bytes.subarray(0, 47))).toThrow("47 bytes < 48");
  });
});

test("every encoder yields exactly 48 bytes", () => {
  for (const c of CASES) expect(c.encode(c.fields as never).length).toBe(48);
});

describe("bit positions of byte 1", () => {
  const scsi = fieldsOf("SCSI Command");
  test.each([
    ["final", 0x80],
    ["read", 0x40],
    ["write", 0x20],
  ] as const)("SCSI Command %s is bit value %d", (flag, mask) => {
    const bhs = encodeScsiCommand({ ...scsi, final: false, read: false, write: false, attr: 0, [flag]: true } as never);
    expect(bhs[1]).toBe(mask);
    const decoded = decodeScsiCommand(bhs);
    expect([decoded.final, decoded.read, decoded.write]).toEqual(["final", "read", "write"].map((f) => f === flag));
  });
  test("SCSI Command ATTR is the low 3 bits", () => {
    const bhs = encodeScsiCommand({ ...scsi, final: false, read: false, attr: 0x0f } as never);
    expect(bhs[1]).toBe(0x07);
    expect(decodeScsiCommand(bhs).attr).toBe(7);
  });

  const dataIn = fieldsOf("Data-In");
  const dataInFlags = ["final", "acknowledge", "residualOverflow", "residualUnderflow", "statusPresent"] as const;
  test.each([
    ["final", 0x80],
    ["acknowledge", 0x40],
    ["residualOverflow", 0x04],
    ["residualUnderflow", 0x02],
    ["statusPresent", 0x01],
  ] as const)("Data-In %s is bit value %d", (flag, mask) => {
    const off = Object.fromEntries(dataInFlags.map((f) => [f, false]));
    const bhs = encodeDataIn({ ...dataIn, ...off, [flag]: true } as never);
    expect(bhs[1]).toBe(mask);
    const decoded = decodeDataIn(bhs);
    for (const f of dataInFlags) expect(decoded[f]).toBe(f === flag);
  });
  test("Data-In Status is byte 3", () => {
    expect(encodeDataIn({ ...dataIn, status: 0x02 } as never)[3]).toBe(0x02);
  });

  const resp = fieldsOf("SCSI Response");
  const respFlags = [
    "bidiReadResidualOverflow",
    "bidiReadResidualUnderflow",
    "residualOverflow",
    "residualUnderflow",
  ] as const;
  test.each([
    ["bidiReadResidualOverflow", 0x10],
    ["bidiReadResidualUnderflow", 0x08],
    ["residualOverflow", 0x04],
    ["residualUnderflow", 0x02],
  ] as const)("SCSI Response %s is bit value %d (plus the fixed 0x80)", (flag, mask) => {
    const off = Object.fromEntries(respFlags.map((f) => [f, false]));
    const bhs = encodeScsiResponse({ ...resp, ...off, [flag]: true } as never);
    expect(bhs[1]).toBe(0x80 | mask);
    const decoded = decodeScsiResponse(bhs);
    for (const f of respFlags) expect(decoded[f]).toBe(f === flag);
  });

  const login = fieldsOf("Login Request");
  test("Login T, C, CSG and NSG", () => {
    expect(encodeLoginRequest({ ...login, transit: false, continue: true, csg: 0, nsg: 0 } as never)[1]).toBe(0x40);
    expect(encodeLoginRequest({ ...login, transit: false, continue: false, csg: 3, nsg: 0 } as never)[1]).toBe(0x0c);
    expect(encodeLoginRequest({ ...login, transit: false, continue: false, csg: 0, nsg: 1 } as never)[1]).toBe(0x01);
    const d = decodeLoginResponse(hex("23 48 00 00 | 0*44"));
    expect([d.transit, d.continue, d.csg, d.nsg]).toEqual([false, true, 2, 0]);
  });
  test("Login Request always carries the I bit", () => {
    expect(encodeLoginRequest({ ...login, immediate: false } as never)[0]).toBe(0x43);
  });
  test("Text C bit is 0x40 and F is 0x80", () => {
    const text = fieldsOf("Text Request");
    expect(encodeTextRequest({ ...text, final: false, continue: true } as never)[1]).toBe(0x40);
    expect(encodeTextResponse({ ...fieldsOf("Text Response"), final: true, continue: false } as never)[1]).toBe(0x80);
  });
  test("TMF Function, Logout Reason Code and SNACK Type sit under the set F bit", () => {
    const tmf = fieldsOf("Task Management Function Request");
    expect(encodeTaskMgmtRequest({ ...tmf, function: 14 } as never)[1]).toBe(0x8e);
    expect(encodeTaskMgmtRequest({ ...tmf, function: 0xff } as never)[1]).toBe(0xff);
    expect(decodeTaskMgmtRequest(hex("02 8e 00 00 | 0*44")).function).toBe(14);
    expect(encodeLogoutRequest({ ...fieldsOf("Logout Request"), reasonCode: 2 } as never)[1]).toBe(0x82);
    expect(decodeLogoutRequest(hex("06 82 00 00 | 0*44")).reasonCode).toBe(2);
    expect(encodeSnackRequest({ ...fieldsOf("SNACK Request"), type: 3 } as never)[1]).toBe(0x83);
  });
  test("the I bit is 0x40 of byte 0", () => {
    expect(encodeNopOut({ ...fieldsOf("NOP-Out"), immediate: false } as never)[0]).toBe(0x00);
    expect(decodeNopOut(hex("40 80 00 00 | 0*44")).immediate).toBe(true);
    expect(decodeNopOut(hex("00 80 00 00 | 0*44")).immediate).toBe(false);
  });
});

describe("wide fields", () => {
  test("ISID is 48 bits at bytes 8–13 and TSIH bytes 14–15", () => {
    const login = fieldsOf("Login Request");
    const bhs = encodeLoginRequest({ ...login, isid: 0xfedcba987654, tsih: 0xbeef } as never);
    expect(bhs.subarray(8, 16)).toEqual(hex("fe dc ba 98 76 54 be ef"));
    expect(decodeLoginRequest(bhs).isid).toBe(0xfedcba987654);
  });
  test("LUN is the 64-bit bigint at bytes 8–15", () => {
    const bhs = encodeNopOut({ ...fieldsOf("NOP-Out"), lun: 0xfedcba9876543210n } as never);
    expect(bhs.subarray(8, 16)).toEqual(hex("fe dc ba 98 76 54 32 10"));
    expect(decodeNopOut(bhs).lun).toBe(0xfedcba9876543210n);
  });
  test("TotalAHSLength is byte 4 and DataSegmentLength bytes 5–7", () => {
    const bhs = encodeNopOut({ ...fieldsOf("NOP-Out"), totalAHSLength: 0xab, dataSegmentLength: 0xfedcba } as never);
    expect(bhs.subarray(4, 8)).toEqual(hex("ab fe dc ba"));
    const d = decodeNopOut(bhs);
    expect([d.totalAHSLength, d.dataSegmentLength]).toEqual([0xab, 0xfedcba]);
  });
  test("out-of-range lengths are refused, not truncated", () => {
    const f = fieldsOf("NOP-Out");
    expect(() => encodeNopOut({ ...f, dataSegmentLength: 0x1000000 } as never)).toThrow("DataSegmentLength 16777216");
    expect(() => encodeNopOut({ ...f, totalAHSLength: 256 } as never)).toThrow("TotalAHSLength 256");
    expect(() => encodeNopOut(f as never, new Uint8Array(47))).toThrow(PduError);
  });
});

describe("long CDBs", () => {
  const scsi = fieldsOf("SCSI Command");
  const cdb32 = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
  test("a CDB over 16 bytes without an AHS is refused", () => {
    expect(() => encodeScsiCommand({ ...scsi, cdb: cdb32 } as never)).toThrow("CDB of 32 bytes > 16");
  });
  test("the BHS holds the first 16 bytes when an AHS is declared", () => {
    const bhs = encodeScsiCommand({ ...scsi, cdb: cdb32, totalAHSLength: 5 } as never);
    expect(bhs.subarray(32, 48)).toEqual(cdb32.subarray(0, 16));
    expect(bhs[4]).toBe(5);
  });
  test("Extended CDB AHS: length CDB−15, type 1, reserved byte, rest of the CDB, padding", () => {
    const ahs = encodeExtendedCdbAhs(cdb32);
    expect(ahs).toEqual(hex(`00 11 01 00 | ${Array.from(cdb32.subarray(16), (b) => b.toString(16)).join(" ")}`));
    expect(encodeExtendedCdbAhs(cdb32.subarray(0, 18))).toEqual(hex("00 03 01 00 11 12 00 00"));
    expect(() => encodeExtendedCdbAhs(cdb32.subarray(0, 16))).toThrow(PduError);
  });
});

describe("generic dispatch", () => {
  test.each([0x07, 0x11, 0x1f, 0x27, 0x30, 0x3e])("reserved opcode %d is a protocol error", (opcode) => {
    const bhs = new Uint8Array(48);
    bhs[0] = opcode;
    let error: unknown;
    try {
      decodePdu(bhs);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PduError);
    expect((error as PduError).code).toBe("PROTOCOL");
    expect((error as PduError).message).toContain(`unknown opcode 0x${opcode.toString(16).padStart(2, "0")}`);
  });
  test("the I bit does not disturb the opcode", () => {
    expect(decodePdu(hex("41 c0 00 00 | 0*44")).opcode).toBe(Opcode.ScsiCommand);
  });
  test("a short BHS is a protocol error", () => {
    expect(() => decodePdu(new Uint8Array(20))).toThrow("20 bytes < 48");
  });
});
