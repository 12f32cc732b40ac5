// Task Management Function Request and Response PDUs, RFC 7143 §11.5 and §11.6.

import { beginBhs, beginDecode } from "./bhs.ts";
import { BHS_LENGTH, Opcode, type Fields, type TaskMgmtRequest, type TaskMgmtResponse } from "./types.ts";

/** Task Management Function Request, RFC 7143 §11.5. Byte 1 is 1 followed by the 7-bit Function. */
export function encodeTaskMgmtRequest(f: Fields<TaskMgmtRequest>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  const v = beginBhs(out, Opcode.TaskMgmtRequest, 0x80 | (f.function & 0x7f), f);
  v.setBigUint64(8, f.lun);
  v.setUint32(16, f.itt);
  v.setUint32(20, f.referencedTaskTag);
  v.setUint32(24, f.cmdSN);
  v.setUint32(28, f.expStatSN);
  v.setUint32(32, f.refCmdSN);
  v.setUint32(36, f.expDataSN);
  return out;
}

export function decodeTaskMgmtRequest(bhs: Uint8Array): TaskMgmtRequest {
  const { view: v, common } = beginDecode(bhs, Opcode.TaskMgmtRequest);
  return {
    ...common,
    function: bhs[1]! & 0x7f,
    lun: v.getBigUint64(8),
    itt: v.getUint32(16),
    referencedTaskTag: v.getUint32(20),
    cmdSN: v.getUint32(24),
    expStatSN: v.getUint32(28),
    refCmdSN: v.getUint32(32),
    expDataSN: v.getUint32(36),
  };
}

/** Task Management Function Response, RFC 7143 §11.6; the F bit is always 1, byte 2 is Response. */
export function encodeTaskMgmtResponse(f: Fields<TaskMgmtResponse>, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  const v = beginBhs(out, Opcode.TaskMgmtResponse, 0x80, f);
  out[2] = f.response;
  v.setUint32(16, f.itt);
  v.setUint32(24, f.statSN);
  v.setUint32(28, f.expCmdSN);
  v.setUint32(32, f.maxCmdSN);
  return out;
}

export function decodeTaskMgmtResponse(bhs: Uint8Array): TaskMgmtResponse {
  const { view: v, common } = beginDecode(bhs, Opcode.TaskMgmtResponse);
  return {
    ...common,
    response: bhs[2]!,
    itt: v.getUint32(16),
    statSN: v.getUint32(24),
    expCmdSN: v.getUint32(28),
    maxCmdSN: v.getUint32(32),
  };
}
