// The Basic Header Segment fields every PDU shares (RFC 7143 §11.2.1) and the helpers the per-PDU codecs use.

import { PduError } from "./errors.ts";
import { BHS_LENGTH, Opcode, type OpcodeValue } from "./types.ts";

/** Largest DataSegmentLength the 3-byte field can carry (RFC 7143 §11.2.1.6). */
export const MAX_DATA_SEGMENT_LENGTH = 0xffffff;

/** Names as RFC 7143 §11 titles them, for error messages. */
export const PDU_NAMES: Readonly<Record<OpcodeValue, string>> = {
  [Opcode.NopOut]: "NOP-Out",
  [Opcode.ScsiCommand]: "SCSI Command",
  [Opcode.TaskMgmtRequest]: "Task Management Function Request",
  [Opcode.LoginRequest]: "Login Request",
  [Opcode.TextRequest]: "Text Request",
  [Opcode.DataOut]: "Data-Out",
  [Opcode.LogoutRequest]: "Logout Request",
  [Opcode.SnackRequest]: "SNACK Request",
  [Opcode.NopIn]: "NOP-In",
  [Opcode.ScsiResponse]: "SCSI Response",
  [Opcode.TaskMgmtResponse]: "Task Management Function Response",
  [Opcode.LoginResponse]: "Login Response",
  [Opcode.TextResponse]: "Text Response",
  [Opcode.DataIn]: "Data-In",
  [Opcode.LogoutResponse]: "Logout Response",
  [Opcode.R2T]: "R2T",
  [Opcode.AsyncMessage]: "Asynchronous Message",
  [Opcode.Reject]: "Reject",
};

/** True for the opcodes RFC 7143 §11.2.1.2 defines; every other value is reserved. */
export function isKnownOpcode(opcode: number): opcode is OpcodeValue {
  return Object.hasOwn(PDU_NAMES, opcode);
}

export const hex = (n: number, width = 2): string => "0x" + n.toString(16).padStart(width, "0");

/** The opcode of a BHS: the low 6 bits of byte 0 (RFC 7143 §11.2.1.2). */
export function opcodeOf(bhs: Uint8Array): number {
  return bhs[0]! & 0x3f;
}

/** DataSegmentLength, bytes 5–7 (RFC 7143 §11.2.1.6). */
export function dataSegmentLengthOf(bhs: Uint8Array): number {
  return (bhs[5]! << 16) | (bhs[6]! << 8) | bhs[7]!;
}

/**
 * Big-endian fields of a BHS, read and written with byte shifts. A DataView needs the array's ArrayBuffer,
 * which the engine creates on first use for every fresh socket chunk; that and the DataView itself were
 * about a tenth of the JavaScript time of a 4 KiB read (docs/performance.md). Callers check the length.
 */
export class BhsView {
  constructor(private readonly b: Uint8Array) {}

  getUint8(at: number): number {
    return this.b[at]!;
  }

  getUint16(at: number): number {
    const b = this.b;
    return (b[at]! << 8) | b[at + 1]!;
  }

  getUint32(at: number): number {
    const b = this.b;
    return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  }

  /** LUN fields: every PDU of a command carries the same one, so the last value is kept instead of a new BigInt. */
  getBigUint64(at: number): bigint {
    const hi = this.getUint32(at);
    const lo = this.getUint32(at + 4);
    if (hi !== lastRead.hi || lo !== lastRead.lo) lastRead = { hi, lo, value: (BigInt(hi) << 32n) | BigInt(lo) };
    return lastRead.value;
  }

  setUint8(at: number, v: number): void {
    this.b[at] = v;
  }

  setUint16(at: number, v: number): void {
    const b = this.b;
    b[at] = v >>> 8;
    b[at + 1] = v;
  }

  setUint32(at: number, v: number): void {
    const b = this.b;
    b[at] = v >>> 24;
    b[at + 1] = v >>> 16;
    b[at + 2] = v >>> 8;
    b[at + 3] = v;
  }

  /** Modulo 2^64, as DataView does. */
  setBigUint64(at: number, v: bigint): void {
    if (v !== lastWritten.value)
      lastWritten = { value: v, hi: Number(BigInt.asUintN(64, v) >> 32n), lo: Number(BigInt.asUintN(32, v)) };
    this.setUint32(at, lastWritten.hi);
    this.setUint32(at + 4, lastWritten.lo);
  }
}
let lastRead = { hi: 0, lo: 0, value: 0n };
let lastWritten = { value: 0n, hi: 0, lo: 0 };

/** Common fields as an encoder receives them: all optional, defaulting to 0/false. */
interface CommonIn {
  immediate?: boolean;
  totalAHSLength?: number;
  dataSegmentLength?: number;
}

/**
 * Zero the 48 bytes of `out`, write bytes 0–7 (I bit, opcode, byte 1, TotalAHSLength, DataSegmentLength)
 * and return a big-endian view over them for the opcode-specific fields.
 */
export function beginBhs(out: Uint8Array, opcode: OpcodeValue, byte1: number, f: CommonIn): BhsView {
  const name = PDU_NAMES[opcode];
  if (out.length < BHS_LENGTH) throw new PduError("PROTOCOL", `${name}: output buffer of ${out.length} bytes < 48`);
  const ahs = f.totalAHSLength ?? 0;
  const dsl = f.dataSegmentLength ?? 0;
  if (!Number.isInteger(ahs) || ahs < 0 || ahs > 0xff)
    throw new PduError("PROTOCOL", `${name}: TotalAHSLength ${ahs} outside 0..255`);
  if (!Number.isInteger(dsl) || dsl < 0 || dsl > MAX_DATA_SEGMENT_LENGTH) {
    throw new PduError("PROTOCOL", `${name}: DataSegmentLength ${dsl} outside 0..${MAX_DATA_SEGMENT_LENGTH}`);
  }
  out.fill(0, 0, BHS_LENGTH);
  out[0] = (f.immediate ? 0x40 : 0) | opcode;
  out[1] = byte1;
  out[4] = ahs;
  out[5] = dsl >>> 16;
  out[6] = (dsl >>> 8) & 0xff;
  out[7] = dsl & 0xff;
  return new BhsView(out);
}

/** Check length and opcode of a BHS about to be decoded as `opcode`; return a view and the common fields. */
export function beginDecode<O extends OpcodeValue>(bhs: Uint8Array, opcode: O) {
  const name = PDU_NAMES[opcode];
  if (bhs.length < BHS_LENGTH) throw new PduError("PROTOCOL", `${name}: BHS of ${bhs.length} bytes < 48`);
  const actual = opcodeOf(bhs);
  if (actual !== opcode) throw new PduError("PROTOCOL", `${name}: opcode ${hex(actual)} != ${hex(opcode)}`);
  return {
    view: new BhsView(bhs),
    common: {
      opcode,
      immediate: (bhs[0]! & 0x40) !== 0,
      totalAHSLength: bhs[4]!,
      dataSegmentLength: dataSegmentLengthOf(bhs),
    },
  };
}

/** The ISID, bytes 8–13 of Login PDUs (RFC 7143 §11.12.5), as a 48-bit number. */
export function readIsid(view: BhsView): number {
  return view.getUint16(8) * 0x100000000 + view.getUint32(10);
}

export function writeIsid(view: BhsView, isid: number): void {
  view.setUint16(8, Math.floor(isid / 0x100000000) & 0xffff);
  view.setUint32(10, isid % 0x100000000);
}

/** A bit of byte 1 as a boolean. */
export const bit = (bhs: Uint8Array, mask: number): boolean => (bhs[1]! & mask) !== 0;
