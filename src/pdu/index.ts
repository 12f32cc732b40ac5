// Public API of the PDU codec of RFC 7143 §11: types, per-PDU encoders and decoders, framing, CRC32C, serial numbers.

export * from "./types.ts";
export { PduError, type PduErrorCode } from "./errors.ts";
export { crc32c, readDigest, writeDigest } from "./crc32c.ts";
export { serialAdd, serialComparable, serialDistance, serialGe, serialGt, serialLe, serialLt } from "./serial.ts";
export { MAX_DATA_SEGMENT_LENGTH, PDU_NAMES, dataSegmentLengthOf, isKnownOpcode, opcodeOf } from "./bhs.ts";
export { decodePdu, encodePdu } from "./codec.ts";
export { decodeNopIn, decodeNopOut, encodeNopIn, encodeNopOut } from "./nop.ts";
export {
  decodeDataIn,
  decodeDataOut,
  decodeR2T,
  decodeScsiCommand,
  decodeScsiResponse,
  encodeDataIn,
  encodeDataOut,
  encodeExtendedCdbAhs,
  encodeR2T,
  encodeScsiCommand,
  encodeScsiResponse,
} from "./scsi.ts";
export {
  decodeTaskMgmtRequest,
  decodeTaskMgmtResponse,
  encodeTaskMgmtRequest,
  encodeTaskMgmtResponse,
} from "./task-mgmt.ts";
export { decodeLoginRequest, decodeLoginResponse, encodeLoginRequest, encodeLoginResponse } from "./login.ts";
export { decodeTextRequest, decodeTextResponse, encodeTextRequest, encodeTextResponse } from "./text-pdu.ts";
export { decodeLogoutRequest, decodeLogoutResponse, encodeLogoutRequest, encodeLogoutResponse } from "./logout.ts";
export { decodeSnackRequest, encodeSnackRequest } from "./snack.ts";
export { decodeAsyncMessage, encodeAsyncMessage } from "./async.ts";
export { decodeReject, encodeReject } from "./reject.ts";
export { framePdu, type DigestOptions } from "./frame.ts";
export { PduFramer, type DataPlacer, type FramerOptions } from "./framer.ts";
