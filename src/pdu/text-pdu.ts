// Text Request and Text Response PDUs, RFC 7143 §11.10 and §11.11 (the key=value payload is src/login's job).

import { bit, beginBhs, beginDecode } from "./bhs.ts";
import { BHS_LENGTH, Opcode, type Fields, type TextRequest, type TextResponse } from "./types.ts";

/** Text Request, RFC 7143 §11.10. Byte 1 is F C followed by reserved bits. */
export function encodeTextRequest(f: Fields<TextRequest>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  const v = beginBhs(out, Opcode.TextRequest, (f.final ? 0x80 : 0) | (f.continue ? 0x40 : 0), f);
  v.setBigUint64(8, f.lun);
  v.setUint32(16, f.itt);
  v.setUint32(20, f.ttt);
  v.setUint32(24, f.cmdSN);
  v.setUint32(28, f.expStatSN);
  return out;
}

export function decodeTextRequest(bhs: Uint8Array): TextRequest {
  const { view: v, common } = beginDecode(bhs, Opcode.TextRequest);
  return {
    ...common,
    final: bit(bhs, 0x80),
    continue: bit(bhs, 0x40),
    lun: v.getBigUint64(8),
    itt: v.getUint32(16),
    ttt: v.getUint32(20),
    cmdSN: v.getUint32(24),
    expStatSN: v.getUint32(28),
  };
}

/** Text Response, RFC 7143 §11.11. Byte 1 is F C followed by reserved bits. */
export function encodeTextResponse(f: Fields<TextResponse>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  const v = beginBhs(out, Opcode.TextResponse, (f.final ? 0x80 : 0) | (f.continue ? 0x40 : 0), f);
  v.setBigUint64(8, f.lun);
  v.setUint32(16, f.itt);
  v.setUint32(20, f.ttt);
  v.setUint32(24, f.statSN);
  v.setUint32(28, f.expCmdSN);
  v.setUint32(32, f.maxCmdSN);
  return out;
}

export function decodeTextResponse(bhs: Uint8Array): TextResponse {
  const { view: v, common } = beginDecode(bhs, Opcode.TextResponse);
  return {
    ...common,
    final: bit(bhs, 0x80),
    continue: bit(bhs, 0x40),
    lun: v.getBigUint64(8),
    itt: v.getUint32(16),
    ttt: v.getUint32(20),
    statSN: v.getUint32(24),
    expCmdSN: v.getUint32(28),
    maxCmdSN: v.getUint32(32),
  };
}
