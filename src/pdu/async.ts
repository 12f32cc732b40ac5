// Asynchronous Message PDU, RFC 7143 §11.9.

import { fixedByte1, layoutCodec } from "./layout.ts";
import { Opcode, type AsyncMessage } from "./types.ts";

/** Asynchronous Message, RFC 7143 §11.9; the F bit is always 1 and the ITT field carries 0xffffffff. */
const message = layoutCodec<AsyncMessage>(
  Opcode.AsyncMessage,
  [
    ["lun", 8, "u64"],
    ["itt", 16, "u32"],
    ["statSN", 24, "u32"],
    ["expCmdSN", 28, "u32"],
    ["maxCmdSN", 32, "u32"],
    ["asyncEvent", 36, "u8"],
    ["asyncVCode", 37, "u8"],
    ["parameter1", 38, "u16"],
    ["parameter2", 40, "u16"],
    ["parameter3", 42, "u16"],
  ],
  fixedByte1(0x80),
);
export const { encode: encodeAsyncMessage, decode: decodeAsyncMessage } = message;
