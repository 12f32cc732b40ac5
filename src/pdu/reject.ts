// Reject PDU, RFC 7143 §11.17; its data segment is the complete header of the rejected PDU.

import { beginBhs, beginDecode } from "./bhs.ts";
import { BHS_LENGTH, Opcode, type Fields, type Reject } from "./types.ts";

/** Reject, RFC 7143 §11.17; the F bit is always 1, byte 2 is Reason, the ITT field carries 0xffffffff. */
export function encodeReject(f: Fields<Reject>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  const v = beginBhs(out, Opcode.Reject, 0x80, f);
  out[2] = f.reason;
  v.setUint32(16, f.itt);
  v.setUint32(24, f.statSN);
  v.setUint32(28, f.expCmdSN);
  v.setUint32(32, f.maxCmdSN);
  v.setUint32(36, f.dataSNOrR2TSN);
  return out;
}

export function decodeReject(bhs: Uint8Array): Reject {
  const { view: v, common } = beginDecode(bhs, Opcode.Reject);
  return {
    ...common,
    reason: bhs[2]!,
    itt: v.getUint32(16),
    statSN: v.getUint32(24),
    expCmdSN: v.getUint32(28),
    maxCmdSN: v.getUint32(32),
    dataSNOrR2TSN: v.getUint32(36),
  };
}
