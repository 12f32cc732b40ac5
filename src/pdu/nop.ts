// NOP-Out and NOP-In PDUs, RFC 7143 §11.18 and §11.19.

import { fixedByte1, layoutCodec } from "./layout.ts";
import { Opcode, type NopIn, type NopOut } from "./types.ts";

/** NOP-Out, RFC 7143 §11.18; the F bit is always 1. */
const out = layoutCodec<NopOut>(
  Opcode.NopOut,
  [
    ["lun", 8, "u64"],
    ["itt", 16, "u32"],
    ["ttt", 20, "u32"],
    ["cmdSN", 24, "u32"],
    ["expStatSN", 28, "u32"],
  ],
  fixedByte1(0x80),
);
export const { encode: encodeNopOut, decode: decodeNopOut } = out;

/** NOP-In, RFC 7143 §11.19; the F bit is always 1. */
const nopIn = layoutCodec<NopIn>(
  Opcode.NopIn,
  [
    ["lun", 8, "u64"],
    ["itt", 16, "u32"],
    ["ttt", 20, "u32"],
    ["statSN", 24, "u32"],
    ["expCmdSN", 28, "u32"],
    ["maxCmdSN", 32, "u32"],
  ],
  fixedByte1(0x80),
);
export const { encode: encodeNopIn, decode: decodeNopIn } = nopIn;
