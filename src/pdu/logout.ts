// Logout Request and Logout Response PDUs, RFC 7143 §11.14 and §11.15.

import { fixedByte1, layoutCodec } from "./layout.ts";
import { Opcode, type LogoutRequest, type LogoutResponse } from "./types.ts";

/** Logout Request, RFC 7143 §11.14. Byte 1 is 1 followed by the 7-bit Reason Code. */
const request = layoutCodec<LogoutRequest>(
  Opcode.LogoutRequest,
  [
    ["itt", 16, "u32"],
    ["cid", 20, "u16"],
    ["cmdSN", 24, "u32"],
    ["expStatSN", 28, "u32"],
  ],
  { write: (f) => 0x80 | (f.reasonCode & 0x7f), read: (bhs) => ({ reasonCode: bhs[1]! & 0x7f }) },
);
export const { encode: encodeLogoutRequest, decode: decodeLogoutRequest } = request;

/** Logout Response, RFC 7143 §11.15; the F bit is always 1, byte 2 is Response. */
const response = layoutCodec<LogoutResponse>(
  Opcode.LogoutResponse,
  [
    ["response", 2, "u8"],
    ["itt", 16, "u32"],
    ["statSN", 24, "u32"],
    ["expCmdSN", 28, "u32"],
    ["maxCmdSN", 32, "u32"],
    ["time2Wait", 40, "u16"],
    ["time2Retain", 42, "u16"],
  ],
  fixedByte1(0x80),
);
export const { encode: encodeLogoutResponse, decode: decodeLogoutResponse } = response;
