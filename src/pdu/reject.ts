// Reject PDU, RFC 7143 §11.17; its data segment is the complete header of the rejected PDU.

import { fixedByte1, layoutCodec } from "./layout.ts";
import { Opcode, type Reject } from "./types.ts";

/** Reject, RFC 7143 §11.17; the F bit is always 1, byte 2 is Reason, the ITT field carries 0xffffffff. */
const reject = layoutCodec<Reject>(
  Opcode.Reject,
  [
    ["reason", 2, "u8"],
    ["itt", 16, "u32"],
    ["statSN", 24, "u32"],
    ["expCmdSN", 28, "u32"],
    ["maxCmdSN", 32, "u32"],
    ["dataSNOrR2TSN", 36, "u32"],
  ],
  fixedByte1(0x80),
);
export const { encode: encodeReject, decode: decodeReject } = reject;
