// The single inbound choke point of a session: sequence-number updates first, then dispatch on opcode to
// one handler per PDU type (RFC 7143 §4.2.2.1–§4.2.2.2, §11.4, §11.7.4, §11.8, §11.9, §11.17, §11.19).
// A handler throws IscsiError("PROTOCOL") for anything a correct target would not send; the connection
// then closes and the session's one cleanup path runs.
import { IscsiError } from "../contract/errors.ts";
import {
  Opcode,
  RESERVED_TAG,
  type AsyncMessage,
  type DataIn,
  type Frame,
  type NopIn,
  type R2T,
  type Reject,
  type ScsiResponse,
  type TargetPdu,
} from "../pdu/types.ts";
import { senseDataFromIscsi } from "../scsi/sense.ts";
import { ScsiStatus } from "../scsi/status.ts";
import { sendDataOut } from "./data-out.ts";
import type { SessionCore } from "./core.ts";
import type { TaskState } from "./task.ts";

/** What this helper may read and do of its session. */
type InboundSession = Pick<
  SessionCore,
  | "log"
  | "state"
  | "connection"
  | "connections"
  | "negotiated"
  | "expStatSN"
  | "window"
  | "tasks"
  | "requests"
  | "stats"
  | "pump"
  | "finish"
  | "noteStatSN"
  | "holdNewCommands"
  | "hintTime2Wait"
>;

export function handleInbound(s: InboundSession, frame: Frame<TargetPdu>): void {
  const p = frame.pdu;
  if (p.opcode !== Opcode.LoginResponse && s.window.update(p.expCmdSN, p.maxCmdSN)) s.pump();
  switch (p.opcode) {
    case Opcode.DataIn:
      return handleDataIn(s, p, frame.data);
    case Opcode.ScsiResponse:
      return handleScsiResponse(s, p, frame.data);
    case Opcode.R2T:
      return handleR2T(s, p);
    case Opcode.NopIn:
      return handleNopIn(s, p, frame.data);
    case Opcode.AsyncMessage:
      return handleAsyncMessage(s, p, frame.data);
    case Opcode.Reject:
      return handleReject(s, p, frame.data);
    case Opcode.TextResponse:
    case Opcode.LogoutResponse:
    case Opcode.TaskMgmtResponse:
      return handleRequestResponse(s, frame);
    case Opcode.LoginResponse:
      throw new IscsiError("PROTOCOL", "Login Response in full feature phase");
  }
}

function scsiTask(s: InboundSession, itt: number, pdu: string): TaskState {
  const t = s.tasks.get(itt);
  if (!t || t.kind !== "scsi") throw new IscsiError("PROTOCOL", `${pdu} for unknown ITT 0x${itt.toString(16)}`);
  // RFC 7143 §6.1: a command's PDUs all travel on the connection it was sent on (MC/S, connections.ts).
  if (t.via !== s.connections.current)
    throw new IscsiError(
      "PROTOCOL",
      `${pdu} for ITT 0x${itt.toString(16)} came on connection ${s.connections.current?.cid ?? 0}, not on ${t.via?.cid ?? 0} where the command went`,
    );
  return t;
}

/** Where a Data-In's data should land: the read's buffer at its BufferOffset, when the PDU passes the checks below. */
export function placeDataIn(
  s: Pick<SessionCore, "tasks" | "connections">,
  frame: Frame<TargetPdu>,
): Uint8Array | undefined {
  const p = frame.pdu;
  if (p.opcode !== Opcode.DataIn) return undefined;
  const t = s.tasks.get(p.itt);
  if (
    !t ||
    t.kind !== "scsi" ||
    t.task.direction !== "read" ||
    p.bufferOffset !== t.received ||
    t.via !== s.connections.current
  )
    return undefined;
  const end = p.bufferOffset + p.dataSegmentLength;
  if (end > t.task.transferLength) return undefined;
  return (t.placed = t.buffer.subarray(p.bufferOffset, end));
}

/** Data-In, RFC 7143 §11.7: in order (we always get DataPDUInOrder=Yes), inside the buffer, status only with F. */
function handleDataIn(s: InboundSession, p: DataIn, data: Uint8Array): void {
  const t = scsiTask(s, p.itt, "Data-In");
  if (t.task.direction !== "read")
    throw new IscsiError("PROTOCOL", `Data-In for ITT 0x${p.itt.toString(16)}, which is not a read`);
  if (p.dataSN !== t.nextDataSN)
    throw new IscsiError(
      "PROTOCOL",
      `Data-In DataSN ${p.dataSN}, expected ${t.nextDataSN} (ITT 0x${p.itt.toString(16)})`,
    );
  if (p.bufferOffset !== t.received)
    throw new IscsiError(
      "PROTOCOL",
      `Data-In BufferOffset ${p.bufferOffset}, expected ${t.received} (DataPDUInOrder=Yes)`,
    );
  const end = p.bufferOffset + data.length;
  if (end > t.task.transferLength)
    throw new IscsiError(
      "PROTOCOL",
      `Data-In BufferOffset ${p.bufferOffset} + length ${data.length} exceeds the expected ${t.task.transferLength} bytes`,
    );
  if (p.statusPresent && !p.final) throw new IscsiError("PROTOCOL", "Data-In has the S bit without the F bit");
  t.nextDataSN++;
  if (data !== t.placed) t.buffer.set(data, p.bufferOffset);
  t.placed = undefined;
  s.stats.dataInPdus++;
  s.stats.bytesIn += data.length;
  t.received = end;
  if (p.statusPresent) {
    s.noteStatSN(p.statSN);
    complete(s, t, p.status, p, undefined);
  }
}

function handleScsiResponse(s: InboundSession, p: ScsiResponse, data: Uint8Array): void {
  const t = scsiTask(s, p.itt, "SCSI Response");
  s.noteStatSN(p.statSN);
  if (p.bidiReadResidualOverflow || p.bidiReadResidualUnderflow)
    throw new IscsiError("PROTOCOL", "SCSI Response has bidirectional residual flags on a unidirectional command");
  if (p.response !== 0) {
    // RFC 7143 §11.4.3: "target failure": the status byte is not valid; the outcome is unknown.
    s.finish(t, {
      error: new IscsiError(
        "OUTCOME_UNKNOWN",
        `${t.task.name ?? "command"}: target failure (iSCSI response 0x${p.response.toString(16)})`,
      ),
    });
    return;
  }
  let sense: Uint8Array | undefined;
  if (p.status === ScsiStatus.CheckCondition && data.length > 0) {
    try {
      sense = senseDataFromIscsi(data);
    } catch (err) {
      s.finish(t, {
        error: new IscsiError(
          "PROTOCOL",
          `${t.task.name ?? "command"}: malformed sense data: ${(err as Error).message}`,
        ),
      });
      return;
    }
  }
  complete(s, t, p.status, p, sense);
}

/** Residuals (RFC 7143 §11.4.5): U and O exclusive, an underflow no larger than the transfer. */
function complete(
  s: InboundSession,
  t: TaskState,
  status: number,
  r: { residualOverflow: boolean; residualUnderflow: boolean; residualCount: number },
  sense: Uint8Array | undefined,
): void {
  const name = t.task.name ?? "command";
  if (r.residualOverflow && r.residualUnderflow)
    throw new IscsiError("PROTOCOL", `${name}: response has both residual overflow and underflow set`);
  const underflow = r.residualUnderflow ? r.residualCount : 0;
  const overflow = r.residualOverflow ? r.residualCount : 0;
  if (underflow > t.task.transferLength)
    throw new IscsiError(
      "PROTOCOL",
      `${name}: residual underflow ${underflow} exceeds the transfer length ${t.task.transferLength}`,
    );
  const moved = t.task.transferLength - underflow;
  if (t.task.direction === "read" && status === 0 && t.received < moved) {
    s.finish(t, {
      error: new IscsiError("PROTOCOL", `${name}: target reported GOOD with ${t.received} of ${moved} bytes delivered`),
    });
    return;
  }
  // One object shape whether or not there is sense: a conditional spread costs a property copy per command.
  const result = {
    status,
    sense,
    residualUnderflow: underflow,
    residualOverflow: overflow,
    data:
      t.task.direction === "read" && Math.min(moved, t.received) !== t.buffer.length
        ? t.buffer.subarray(0, Math.min(moved, t.received))
        : t.buffer,
  };
  s.finish(t, { result });
}

/** R2T, RFC 7143 §11.8: checked against the command before a single byte is sent (edk2 bz4206 class). */
function handleR2T(s: InboundSession, p: R2T): void {
  const t = scsiTask(s, p.itt, "R2T");
  const at = `R2T for ITT 0x${p.itt.toString(16)}`;
  if (t.task.direction !== "write") throw new IscsiError("PROTOCOL", `${at}: the command is not a write`);
  if (p.ttt === RESERVED_TAG) throw new IscsiError("PROTOCOL", `${at}: TTT is the reserved value 0xffffffff`);
  if (p.r2tSN !== t.nextR2TSN) throw new IscsiError("PROTOCOL", `${at}: R2TSN ${p.r2tSN}, expected ${t.nextR2TSN}`);
  const len = p.desiredDataTransferLength;
  if (len === 0) throw new IscsiError("PROTOCOL", `${at}: Desired Data Transfer Length is 0`);
  if (p.bufferOffset + len > t.task.transferLength) {
    throw new IscsiError(
      "PROTOCOL",
      `${at}: BufferOffset ${p.bufferOffset} + length ${len} exceeds the ${t.task.transferLength} bytes of the command`,
    );
  }
  // QUIRK(Linux policy): a burst longer than MaxBurstLength is logged and served, as Linux does.
  if (len > s.negotiated.maxBurstLength)
    s.log.warn(`${at}: length ${len} > MaxBurstLength ${s.negotiated.maxBurstLength}`);
  t.nextR2TSN++;
  s.stats.r2ts++;
  sendDataOut(s, t, p.ttt, p.bufferOffset, len);
}

/** NOP-In, RFC 7143 §11.19: an answer to our ping, or a ping from the target that wants a NOP-Out. */
function handleNopIn(s: InboundSession, p: NopIn, data: Uint8Array): void {
  if (p.itt !== RESERVED_TAG) {
    const req = s.tasks.get(p.itt);
    if (!req || req.kind !== "request")
      throw new IscsiError("PROTOCOL", `NOP-In for unknown ITT 0x${p.itt.toString(16)}`);
    s.noteStatSN(p.statSN);
    req.onResponse({ pdu: p, bhs: new Uint8Array(0), ahs: new Uint8Array(0), data });
    return;
  }
  if (p.ttt !== RESERVED_TAG) {
    s.stats.nopInAnswered++;
    s.requests.answerNopIn(p, data);
  }
}

/** Asynchronous Message, RFC 7143 §11.9. Recovery-related events are acted on by the layer above. */
function handleAsyncMessage(s: InboundSession, p: AsyncMessage, data: Uint8Array): void {
  s.noteStatSN(p.statSN);
  switch (p.asyncEvent) {
    case 0:
      s.log.info(`target reports a SCSI asynchronous event (${data.length} bytes of sense)`);
      return;
    case 1: {
      // RFC 7143 §11.9.1: the initiator MUST log out within Parameter3 seconds. We stop sending commands,
      // log the session out, close the connection, and recovery logs in again after Time2Wait and
      // re-issues what was outstanding (as open-iscsi does).
      s.log.warn(`target requests a logout within ${p.parameter3} s; logging out and reconnecting`);
      s.holdNewCommands();
      const connection = s.connection;
      const done = () =>
        connection.close(new IscsiError("TRANSPORT", "target requested a logout (Async Message event 1)"));
      s.requests.logout(Math.max(1, p.parameter3) * 1000).then(done, done);
      return;
    }
    case 2:
    case 3:
      // RFC 7143 §11.9.1: Parameter2 is the Time2Wait before reconnecting, which overrides DefaultTime2Wait
      // for this loss; the connection drop itself arrives as a close and starts recovery as usual.
      s.log.warn(
        `target will drop ${p.asyncEvent === 2 ? "the connection" : "all connections"} (Time2Wait ${p.parameter2} s)`,
      );
      s.hintTime2Wait(p.parameter2);
      return;
    case 4:
      // RFC 7143 §11.9.1: the initiator MUST answer with a Text Request (which may be empty) or a Logout. We send
      // an empty one; operational keys the target then offers are logged and left as negotiated at login.
      s.log.info("target requests parameter negotiation; sending an empty Text Request");
      s.requests.text([]).then(
        (keys) => {
          if (keys.length > 0)
            s.log.warn(
              `target offered ${keys.map(([k]) => k).join(", ")} after Async event 4; keeping the login's values`,
            );
        },
        (e: Error) => s.log.warn(`Text Request after Async event 4 failed: ${e.message}`),
      );
      return;
    default:
      s.log.warn(`ignoring Async Message event ${p.asyncEvent} (vendor code ${p.asyncVCode})`);
  }
}

const REJECT_REASONS: Record<number, string> = {
  0x02: "data (payload) digest error",
  0x03: "SNACK reject",
  0x04: "protocol error",
  0x05: "command not supported",
  0x06: "immediate command reject",
  0x07: "task in progress",
  0x08: "invalid data ACK",
  0x09: "invalid PDU field",
  0x0a: "long operation reject",
  0x0b: "negotiation reset",
  0x0c: "waiting for logout",
};

/** Reject, RFC 7143 §11.17: the data segment holds the rejected PDU's header; fail the task it names. */
function handleReject(s: InboundSession, p: Reject, data: Uint8Array): void {
  s.noteStatSN(p.statSN);
  const why = REJECT_REASONS[p.reason] ?? `reason 0x${p.reason.toString(16)}`;
  if (data.length < 48) throw new IscsiError("PROTOCOL", `Reject (${why}) without the rejected header`);
  const itt = new DataView(data.buffer, data.byteOffset, data.length).getUint32(16);
  const t = s.tasks.get(itt);
  const err = new IscsiError("PROTOCOL", `target rejected a PDU (opcode 0x${(data[0]! & 0x3f).toString(16)}): ${why}`);
  if (!t) {
    s.log.warn(err.message);
    return;
  }
  if (t.kind === "scsi") s.finish(t, { error: err });
  else {
    s.tasks.delete(itt);
    t.reject(err);
  }
}

function handleRequestResponse(s: InboundSession, frame: Frame<TargetPdu>): void {
  const itt = frame.pdu.itt;
  const req = s.tasks.get(itt);
  if (!req || req.kind !== "request")
    throw new IscsiError(
      "PROTOCOL",
      `response (opcode 0x${frame.pdu.opcode.toString(16)}) for unknown ITT 0x${itt.toString(16)}`,
    );
  req.onResponse(frame);
}
