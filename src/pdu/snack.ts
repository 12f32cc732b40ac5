// SNACK Request PDU, RFC 7143 §11.16.

import { beginBhs, beginDecode } from "./bhs.ts";
import { BHS_LENGTH, Opcode, type Fields, type SnackRequest } from "./types.ts";

/** SNACK Request, RFC 7143 §11.16. Byte 1 is 1 . . . Type(4); bytes 20–23 are the TTT or SNACK Tag. */
export function encodeSnackRequest(f: Fields<SnackRequest>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  const v = beginBhs(out, Opcode.SnackRequest, 0x80 | (f.type & 0x0f), f);
  v.setBigUint64(8, f.lun);
  v.setUint32(16, f.itt);
  v.setUint32(20, f.ttt);
  v.setUint32(28, f.expStatSN);
  v.setUint32(40, f.begRun);
  v.setUint32(44, f.runLength);
  return out;
}

export function decodeSnackRequest(bhs: Uint8Array): SnackRequest {
  const { view: v, common } = beginDecode(bhs, Opcode.SnackRequest);
  return {
    ...common,
    type: bhs[1]! & 0x0f,
    lun: v.getBigUint64(8),
    itt: v.getUint32(16),
    ttt: v.getUint32(20),
    expStatSN: v.getUint32(28),
    begRun: v.getUint32(40),
    runLength: v.getUint32(44),
  };
}
