// Logout Request and Logout Response PDUs, RFC 7143 §11.14 and §11.15.

import { beginBhs, beginDecode } from "./bhs.ts";
import { BHS_LENGTH, Opcode, type Fields, type LogoutRequest, type LogoutResponse } from "./types.ts";

/** Logout Request, RFC 7143 §11.14. Byte 1 is 1 followed by the 7-bit Reason Code. */
export function encodeLogoutRequest(f: Fields<LogoutRequest>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  const v = beginBhs(out, Opcode.LogoutRequest, 0x80 | (f.reasonCode & 0x7f), f);
  v.setUint32(16, f.itt);
  v.setUint16(20, f.cid);
  v.setUint32(24, f.cmdSN);
  v.setUint32(28, f.expStatSN);
  return out;
}

export function decodeLogoutRequest(bhs: Uint8Array): LogoutRequest {
  const { view: v, common } = beginDecode(bhs, Opcode.LogoutRequest);
  return {
    ...common,
    reasonCode: bhs[1]! & 0x7f,
    itt: v.getUint32(16),
    cid: v.getUint16(20),
    cmdSN: v.getUint32(24),
    expStatSN: v.getUint32(28),
  };
}

/** Logout Response, RFC 7143 §11.15; the F bit is always 1, byte 2 is Response. */
export function encodeLogoutResponse(f: Fields<LogoutResponse>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  const v = beginBhs(out, Opcode.LogoutResponse, 0x80, f);
  out[2] = f.response;
  v.setUint32(16, f.itt);
  v.setUint32(24, f.statSN);
  v.setUint32(28, f.expCmdSN);
  v.setUint32(32, f.maxCmdSN);
  v.setUint16(40, f.time2Wait);
  v.setUint16(42, f.time2Retain);
  return out;
}

export function decodeLogoutResponse(bhs: Uint8Array): LogoutResponse {
  const { view: v, common } = beginDecode(bhs, Opcode.LogoutResponse);
  return {
    ...common,
    response: bhs[2]!,
    itt: v.getUint32(16),
    statSN: v.getUint32(24),
    expCmdSN: v.getUint32(28),
    maxCmdSN: v.getUint32(32),
    time2Wait: v.getUint16(40),
    time2Retain: v.getUint16(42),
  };
}
