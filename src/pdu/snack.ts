// SNACK Request PDU, RFC 7143 §11.16.

import { layoutCodec } from "./layout.ts";
import { Opcode, type SnackRequest } from "./types.ts";

/** SNACK Request, RFC 7143 §11.16. Byte 1 is 1 . . . Type(4); bytes 20–23 are the TTT or SNACK Tag. */
const snack = layoutCodec<SnackRequest>(
  Opcode.SnackRequest,
  [
    ["lun", 8, "u64"],
    ["itt", 16, "u32"],
    ["ttt", 20, "u32"],
    ["expStatSN", 28, "u32"],
    ["begRun", 40, "u32"],
    ["runLength", 44, "u32"],
  ],
  { write: (f) => 0x80 | (f.type & 0x0f), read: (bhs) => ({ type: bhs[1]! & 0x0f }) },
);
export const { encode: encodeSnackRequest, decode: decodeSnackRequest } = snack;
