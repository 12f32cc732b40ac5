// NOP-Out and NOP-In PDUs, RFC 7143 §11.18 and §11.19.

import { beginBhs, beginDecode } from "./bhs.ts";
import { BHS_LENGTH, Opcode, type Fields, type NopIn, type NopOut } from "./types.ts";

/** NOP-Out, RFC 7143 §11.18; the F bit is always 1. */
export function encodeNopOut(f: Fields<NopOut>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  const v = beginBhs(out, Opcode.NopOut, 0x80, f);
  v.setBigUint64(8, f.lun);
  v.setUint32(16, f.itt);
  v.setUint32(20, f.ttt);
  v.setUint32(24, f.cmdSN);
  v.setUint32(28, f.expStatSN);
  return out;
}

export function decodeNopOut(bhs: Uint8Array): NopOut {
  const { view: v, common } = beginDecode(bhs, Opcode.NopOut);
  return {
    ...common,
    lun: v.getBigUint64(8),
    itt: v.getUint32(16),
    ttt: v.getUint32(20),
    cmdSN: v.getUint32(24),
    expStatSN: v.getUint32(28),
  };
}

/** NOP-In, RFC 7143 §11.19; the F bit is always 1. */
export function encodeNopIn(f: Fields<NopIn>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  const v = beginBhs(out, Opcode.NopIn, 0x80, f);
  v.setBigUint64(8, f.lun);
  v.setUint32(16, f.itt);
  v.setUint32(20, f.ttt);
  v.setUint32(24, f.statSN);
  v.setUint32(28, f.expCmdSN);
  v.setUint32(32, f.maxCmdSN);
  return out;
}

export function decodeNopIn(bhs: Uint8Array): NopIn {
  const { view: v, common } = beginDecode(bhs, Opcode.NopIn);
  return {
    ...common,
    lun: v.getBigUint64(8),
    itt: v.getUint32(16),
    ttt: v.getUint32(20),
    statSN: v.getUint32(24),
    expCmdSN: v.getUint32(28),
    maxCmdSN: v.getUint32(32),
  };
}
