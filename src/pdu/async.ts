// Asynchronous Message PDU, RFC 7143 §11.9.

import { beginBhs, beginDecode } from "./bhs.ts";
import { BHS_LENGTH, Opcode, type AsyncMessage, type Fields } from "./types.ts";

/** Asynchronous Message, RFC 7143 §11.9; the F bit is always 1 and the ITT field carries 0xffffffff. */
export function encodeAsyncMessage(f: Fields<AsyncMessage>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  const v = beginBhs(out, Opcode.AsyncMessage, 0x80, f);
  v.setBigUint64(8, f.lun);
  v.setUint32(16, f.itt);
  v.setUint32(24, f.statSN);
  v.setUint32(28, f.expCmdSN);
  v.setUint32(32, f.maxCmdSN);
  out[36] = f.asyncEvent;
  out[37] = f.asyncVCode;
  v.setUint16(38, f.parameter1);
  v.setUint16(40, f.parameter2);
  v.setUint16(42, f.parameter3);
  return out;
}

export function decodeAsyncMessage(bhs: Uint8Array): AsyncMessage {
  const { view: v, common } = beginDecode(bhs, Opcode.AsyncMessage);
  return {
    ...common,
    lun: v.getBigUint64(8),
    itt: v.getUint32(16),
    statSN: v.getUint32(24),
    expCmdSN: v.getUint32(28),
    maxCmdSN: v.getUint32(32),
    asyncEvent: bhs[36]!,
    asyncVCode: bhs[37]!,
    parameter1: v.getUint16(38),
    parameter2: v.getUint16(40),
    parameter3: v.getUint16(42),
  };
}
