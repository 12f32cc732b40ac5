// The PDU vocabulary of RFC 7143 §11: opcodes and one decoded-field record per PDU type.
// Field names are the RFC's in camelCase so that grepping against the RFC works. Leaf module.

/** Opcodes, RFC 7143 §11.2.1.2. Initiator opcodes are 0x00–0x1f, target opcodes 0x20–0x3f. */
export const Opcode = {
  NopOut: 0x00,
  ScsiCommand: 0x01,
  TaskMgmtRequest: 0x02,
  LoginRequest: 0x03,
  TextRequest: 0x04,
  DataOut: 0x05,
  LogoutRequest: 0x06,
  SnackRequest: 0x10,
  NopIn: 0x20,
  ScsiResponse: 0x21,
  TaskMgmtResponse: 0x22,
  LoginResponse: 0x23,
  TextResponse: 0x24,
  DataIn: 0x25,
  LogoutResponse: 0x26,
  R2T: 0x31,
  AsyncMessage: 0x32,
  Reject: 0x3f,
} as const;
export type OpcodeValue = (typeof Opcode)[keyof typeof Opcode];

/** Length of the Basic Header Segment, RFC 7143 §11.2.1. */
export const BHS_LENGTH = 48;
/** The reserved tag value, RFC 7143 §11.2.1.8 (ITT) and §11.18.3 (TTT). */
export const RESERVED_TAG = 0xffffffff;

/** Fields present in every BHS, RFC 7143 §11.2.1. `dataSegmentLength` excludes padding. */
interface Common {
  immediate: boolean;
  totalAHSLength: number; // in 4-byte words
  dataSegmentLength: number;
}

// ---- initiator PDUs ----
export interface NopOut extends Common {
  opcode: typeof Opcode.NopOut;
  lun: bigint;
  itt: number;
  ttt: number;
  cmdSN: number;
  expStatSN: number;
}
export interface ScsiCommand extends Common {
  opcode: typeof Opcode.ScsiCommand;
  final: boolean;
  read: boolean;
  write: boolean;
  attr: number; // task attribute, §11.3.1.2
  lun: bigint;
  itt: number;
  expectedDataTransferLength: number;
  cmdSN: number;
  expStatSN: number;
  cdb: Uint8Array; // 16 bytes in the BHS; longer CDBs need an Extended CDB AHS (§11.3.5)
}
export interface TaskMgmtRequest extends Common {
  opcode: typeof Opcode.TaskMgmtRequest;
  function: number;
  lun: bigint;
  itt: number;
  referencedTaskTag: number;
  cmdSN: number;
  expStatSN: number;
  refCmdSN: number;
  expDataSN: number;
}
export interface LoginRequest extends Common {
  opcode: typeof Opcode.LoginRequest;
  transit: boolean;
  continue: boolean;
  csg: number;
  nsg: number;
  versionMax: number;
  versionMin: number;
  isid: number; // 48-bit, §11.12.5
  tsih: number;
  itt: number;
  cid: number;
  cmdSN: number;
  expStatSN: number;
}
export interface TextRequest extends Common {
  opcode: typeof Opcode.TextRequest;
  final: boolean;
  continue: boolean;
  lun: bigint;
  itt: number;
  ttt: number;
  cmdSN: number;
  expStatSN: number;
}
export interface DataOut extends Common {
  opcode: typeof Opcode.DataOut;
  final: boolean;
  lun: bigint;
  itt: number;
  ttt: number;
  expStatSN: number;
  dataSN: number;
  bufferOffset: number;
}
export interface LogoutRequest extends Common {
  opcode: typeof Opcode.LogoutRequest;
  reasonCode: number;
  itt: number;
  cid: number;
  cmdSN: number;
  expStatSN: number;
}
export interface SnackRequest extends Common {
  opcode: typeof Opcode.SnackRequest;
  type: number;
  lun: bigint;
  itt: number;
  ttt: number;
  expStatSN: number;
  begRun: number;
  runLength: number;
}

// ---- target PDUs ----
export interface NopIn extends Common {
  opcode: typeof Opcode.NopIn;
  lun: bigint;
  itt: number;
  ttt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
}
export interface ScsiResponse extends Common {
  opcode: typeof Opcode.ScsiResponse;
  bidiReadResidualOverflow: boolean;
  bidiReadResidualUnderflow: boolean; // o, u
  residualOverflow: boolean;
  residualUnderflow: boolean; // O, U
  response: number;
  status: number;
  itt: number;
  snackTag: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  expDataSN: number;
  bidirectionalReadResidualCount: number;
  residualCount: number;
}
export interface TaskMgmtResponse extends Common {
  opcode: typeof Opcode.TaskMgmtResponse;
  response: number;
  itt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
}
export interface LoginResponse extends Common {
  opcode: typeof Opcode.LoginResponse;
  transit: boolean;
  continue: boolean;
  csg: number;
  nsg: number;
  versionMax: number;
  versionActive: number;
  isid: number;
  tsih: number;
  itt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  statusClass: number;
  statusDetail: number;
}
export interface TextResponse extends Common {
  opcode: typeof Opcode.TextResponse;
  final: boolean;
  continue: boolean;
  lun: bigint;
  itt: number;
  ttt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
}
export interface DataIn extends Common {
  opcode: typeof Opcode.DataIn;
  final: boolean;
  acknowledge: boolean;
  residualOverflow: boolean;
  residualUnderflow: boolean;
  statusPresent: boolean;
  status: number;
  lun: bigint;
  itt: number;
  ttt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  dataSN: number;
  bufferOffset: number;
  residualCount: number;
}
export interface LogoutResponse extends Common {
  opcode: typeof Opcode.LogoutResponse;
  response: number;
  itt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  time2Wait: number;
  time2Retain: number;
}
export interface R2T extends Common {
  opcode: typeof Opcode.R2T;
  lun: bigint;
  itt: number;
  ttt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  r2tSN: number;
  bufferOffset: number;
  desiredDataTransferLength: number;
}
export interface AsyncMessage extends Common {
  opcode: typeof Opcode.AsyncMessage;
  lun: bigint;
  itt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  asyncEvent: number;
  asyncVCode: number;
  parameter1: number;
  parameter2: number;
  parameter3: number;
}
export interface Reject extends Common {
  opcode: typeof Opcode.Reject;
  reason: number;
  itt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  dataSNOrR2TSN: number;
}

export type InitiatorPdu =
  | NopOut
  | ScsiCommand
  | TaskMgmtRequest
  | LoginRequest
  | TextRequest
  | DataOut
  | LogoutRequest
  | SnackRequest;
export type TargetPdu =
  | NopIn
  | ScsiResponse
  | TaskMgmtResponse
  | LoginResponse
  | TextResponse
  | DataIn
  | LogoutResponse
  | R2T
  | AsyncMessage
  | Reject;
export type Pdu = InitiatorPdu | TargetPdu;

/** Fields an encoder takes: everything but the opcode; Common fields default to 0/false. */
export type Fields<P extends Pdu> = Omit<P, "opcode" | keyof Common> & Partial<Common>;

/** One whole PDU off the wire, digests already verified and stripped, padding removed. */
export interface Frame<P extends Pdu = Pdu> {
  pdu: P;
  bhs: Uint8Array; // the 48 bytes
  ahs: Uint8Array; // empty when TotalAHSLength is 0
  data: Uint8Array; // dataSegmentLength bytes, no padding
}
