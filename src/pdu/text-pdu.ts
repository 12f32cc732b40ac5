// Text Request and Text Response PDUs, RFC 7143 §11.10 and §11.11 (the key=value payload is src/login's job).

import { bit } from "./bhs.ts";
import { layoutCodec } from "./layout.ts";
import { Opcode, type TextRequest, type TextResponse } from "./types.ts";

/** Byte 1 of both: F C followed by reserved bits. */
const flags = {
  write: (f: { final: boolean; continue: boolean }) => (f.final ? 0x80 : 0) | (f.continue ? 0x40 : 0),
  read: (bhs: Uint8Array) => ({ final: bit(bhs, 0x80), continue: bit(bhs, 0x40) }),
};

/** Text Request, RFC 7143 §11.10. */
const request = layoutCodec<TextRequest>(
  Opcode.TextRequest,
  [
    ["lun", 8, "u64"],
    ["itt", 16, "u32"],
    ["ttt", 20, "u32"],
    ["cmdSN", 24, "u32"],
    ["expStatSN", 28, "u32"],
  ],
  flags,
);
export const { encode: encodeTextRequest, decode: decodeTextRequest } = request;

/** Text Response, RFC 7143 §11.11. */
const response = layoutCodec<TextResponse>(
  Opcode.TextResponse,
  [
    ["lun", 8, "u64"],
    ["itt", 16, "u32"],
    ["ttt", 20, "u32"],
    ["statSN", 24, "u32"],
    ["expCmdSN", 28, "u32"],
    ["maxCmdSN", 32, "u32"],
  ],
  flags,
);
export const { encode: encodeTextResponse, decode: decodeTextResponse } = response;
