// Generic dispatch over the PDU codecs of RFC 7143 §11: decode any BHS by its opcode, encode any Pdu record.

import { hex, opcodeOf } from "./bhs.ts";
import { PduError } from "./errors.ts";
import { decodeAsyncMessage, encodeAsyncMessage } from "./async.ts";
import { decodeLoginRequest, decodeLoginResponse, encodeLoginRequest, encodeLoginResponse } from "./login.ts";
import { decodeLogoutRequest, decodeLogoutResponse, encodeLogoutRequest, encodeLogoutResponse } from "./logout.ts";
import { decodeNopIn, decodeNopOut, encodeNopIn, encodeNopOut } from "./nop.ts";
import { decodeReject, encodeReject } from "./reject.ts";
import {
  decodeDataIn,
  decodeDataOut,
  decodeR2T,
  decodeScsiCommand,
  decodeScsiResponse,
  encodeDataIn,
  encodeDataOut,
  encodeR2T,
  encodeScsiCommand,
  encodeScsiResponse,
} from "./scsi.ts";
import { decodeSnackRequest, encodeSnackRequest } from "./snack.ts";
import {
  decodeTaskMgmtRequest,
  decodeTaskMgmtResponse,
  encodeTaskMgmtRequest,
  encodeTaskMgmtResponse,
} from "./task-mgmt.ts";
import { decodeTextRequest, decodeTextResponse, encodeTextRequest, encodeTextResponse } from "./text-pdu.ts";
import { BHS_LENGTH, Opcode, type Pdu } from "./types.ts";

const DECODERS: Readonly<Record<number, (bhs: Uint8Array) => Pdu>> = {
  [Opcode.NopOut]: decodeNopOut,
  [Opcode.ScsiCommand]: decodeScsiCommand,
  [Opcode.TaskMgmtRequest]: decodeTaskMgmtRequest,
  [Opcode.LoginRequest]: decodeLoginRequest,
  [Opcode.TextRequest]: decodeTextRequest,
  [Opcode.DataOut]: decodeDataOut,
  [Opcode.LogoutRequest]: decodeLogoutRequest,
  [Opcode.SnackRequest]: decodeSnackRequest,
  [Opcode.NopIn]: decodeNopIn,
  [Opcode.ScsiResponse]: decodeScsiResponse,
  [Opcode.TaskMgmtResponse]: decodeTaskMgmtResponse,
  [Opcode.LoginResponse]: decodeLoginResponse,
  [Opcode.TextResponse]: decodeTextResponse,
  [Opcode.DataIn]: decodeDataIn,
  [Opcode.LogoutResponse]: decodeLogoutResponse,
  [Opcode.R2T]: decodeR2T,
  [Opcode.AsyncMessage]: decodeAsyncMessage,
  [Opcode.Reject]: decodeReject,
};

/** Decode any BHS; a reserved opcode is a protocol error (RFC 7143 §11.2.1.2). */
export function decodePdu(bhs: Uint8Array): Pdu {
  if (bhs.length < BHS_LENGTH) throw new PduError("PROTOCOL", `BHS of ${bhs.length} bytes < 48`);
  const decode = DECODERS[opcodeOf(bhs)];
  if (!decode) throw new PduError("PROTOCOL", `BHS: unknown opcode ${hex(opcodeOf(bhs))}`);
  return decode(bhs);
}

/** Encode any Pdu record into its 48-byte BHS (into `out` when given). */
export function encodePdu(pdu: Pdu, out: Uint8Array = new Uint8Array(BHS_LENGTH)): Uint8Array {
  switch (pdu.opcode) {
    case Opcode.NopOut:
      return encodeNopOut(pdu, out);
    case Opcode.ScsiCommand:
      return encodeScsiCommand(pdu, out);
    case Opcode.TaskMgmtRequest:
      return encodeTaskMgmtRequest(pdu, out);
    case Opcode.LoginRequest:
      return encodeLoginRequest(pdu, out);
    case Opcode.TextRequest:
      return encodeTextRequest(pdu, out);
    case Opcode.DataOut:
      return encodeDataOut(pdu, out);
    case Opcode.LogoutRequest:
      return encodeLogoutRequest(pdu, out);
    case Opcode.SnackRequest:
      return encodeSnackRequest(pdu, out);
    case Opcode.NopIn:
      return encodeNopIn(pdu, out);
    case Opcode.ScsiResponse:
      return encodeScsiResponse(pdu, out);
    case Opcode.TaskMgmtResponse:
      return encodeTaskMgmtResponse(pdu, out);
    case Opcode.LoginResponse:
      return encodeLoginResponse(pdu, out);
    case Opcode.TextResponse:
      return encodeTextResponse(pdu, out);
    case Opcode.DataIn:
      return encodeDataIn(pdu, out);
    case Opcode.LogoutResponse:
      return encodeLogoutResponse(pdu, out);
    case Opcode.R2T:
      return encodeR2T(pdu, out);
    case Opcode.AsyncMessage:
      return encodeAsyncMessage(pdu, out);
    case Opcode.Reject:
      return encodeReject(pdu, out);
    default: {
      const opcode: number = (pdu as { opcode: number }).opcode;
      throw new PduError("PROTOCOL", `encodePdu: unknown opcode ${hex(opcode)}`);
    }
  }
}
