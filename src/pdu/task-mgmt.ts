// Task Management Function Request and Response PDUs, RFC 7143 §11.5 and §11.6.

import { fixedByte1, layoutCodec } from "./layout.ts";
import { Opcode, type TaskMgmtRequest, type TaskMgmtResponse } from "./types.ts";

/** Task Management Function Request, RFC 7143 §11.5. Byte 1 is 1 followed by the 7-bit Function. */
const request = layoutCodec<TaskMgmtRequest>(
  Opcode.TaskMgmtRequest,
  [
    ["lun", 8, "u64"],
    ["itt", 16, "u32"],
    ["referencedTaskTag", 20, "u32"],
    ["cmdSN", 24, "u32"],
    ["expStatSN", 28, "u32"],
    ["refCmdSN", 32, "u32"],
    ["expDataSN", 36, "u32"],
  ],
  { write: (f) => 0x80 | (f.function & 0x7f), read: (bhs) => ({ function: bhs[1]! & 0x7f }) },
);
export const { encode: encodeTaskMgmtRequest, decode: decodeTaskMgmtRequest } = request;

/** Task Management Function Response, RFC 7143 §11.6; the F bit is always 1, byte 2 is Response. */
const response = layoutCodec<TaskMgmtResponse>(
  Opcode.TaskMgmtResponse,
  [
    ["response", 2, "u8"],
    ["itt", 16, "u32"],
    ["statSN", 24, "u32"],
    ["expCmdSN", 28, "u32"],
    ["maxCmdSN", 32, "u32"],
  ],
  fixedByte1(0x80),
);
export const { encode: encodeTaskMgmtResponse, decode: decodeTaskMgmtResponse } = response;
