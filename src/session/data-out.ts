// The write side of a SCSI command: the command PDU with ImmediateData, unsolicited Data-Out up to
// FirstBurstLength, and solicited Data-Out answering R2Ts (RFC 7143 §4.2.2.3 (ImmediateData, InitialR2T),
// §11.3, §11.7, §11.8, §13.10–§13.14). Data PDUs are cut to the target's MaxRecvDataSegmentLength and
// sent straight from the caller's buffer.
import { encodeDataOut, encodeScsiCommand } from "../pdu/scsi.ts";
import { RESERVED_TAG } from "../pdu/types.ts";
import type { SessionCore } from "./core.ts";
import type { TaskState } from "./task.ts";

/** What this helper may read and do of its session. */
type DataOutSession = Pick<SessionCore, "connection" | "negotiated" | "expStatSN" | "stats">;

const SIMPLE = 1;
/** Every Data-Out and SCSI Command header is encoded here: safe because Connection.send copies the BHS before it returns. */
const SCRATCH_BHS = new Uint8Array(48);

export function sendScsiCommand(s: DataOutSession, t: TaskState): void {
  const n = s.negotiated;
  const task = t.task;
  const write = task.direction === "write";
  let immediateLength = 0;
  let unsolicitedLength = 0;
  if (write && task.transferLength > 0) {
    const firstBurst = Math.min(task.transferLength, n.firstBurstLength);
    if (n.immediateData) immediateLength = Math.min(firstBurst, n.maxXmitDataSegmentLength);
    unsolicitedLength = n.initialR2T ? immediateLength : firstBurst;
  }
  // encodeScsiCommand zero-fills the BHS, so a CDB shorter than 16 bytes needs no padded copy.
  const cdb = task.cdb;
  const bhs = encodeScsiCommand(
    {
      immediate: false,
      // F: no unsolicited Data-Out follows this PDU (RFC 7143 §11.3.1.1).
      final: unsolicitedLength === immediateLength,
      read: task.direction === "read",
      write,
      attr: task.attr ?? SIMPLE,
      lun: t.lunField,
      itt: t.itt,
      expectedDataTransferLength: task.transferLength,
      cmdSN: t.cmdSN,
      expStatSN: t.via?.expStatSN ?? s.expStatSN,
      cdb,
      dataSegmentLength: immediateLength,
    },
    SCRATCH_BHS,
  );
  (t.via?.connection ?? s.connection).send(
    bhs,
    immediateLength > 0 ? task.data!.subarray(0, immediateLength) : undefined,
  );
  s.stats.bytesOut += immediateLength;
  if (unsolicitedLength > immediateLength)
    sendDataOut(s, t, RESERVED_TAG, immediateLength, unsolicitedLength - immediateLength);
}

/**
 * One burst of Data-Out PDUs for `length` bytes at `offset`: DataSN from 0, BufferOffset increasing, F on
 * the last (RFC 7143 §11.7). `ttt` is the R2T's tag, or 0xffffffff for unsolicited data. The caller has
 * checked offset + length against the command's transfer length.
 */
export function sendDataOut(s: DataOutSession, t: TaskState, ttt: number, offset: number, length: number): void {
  // Allegiance (RFC 7143 §6.1): Data-Out goes on the connection the command went on, cut to its limit.
  const max = t.via?.maxXmitDataSegmentLength ?? s.negotiated.maxXmitDataSegmentLength;
  const connection = t.via?.connection ?? s.connection;
  const data = t.task.data!;
  const end = offset + length;
  let dataSN = 0;
  for (let at = offset; at < end; at += max) {
    const size = Math.min(max, end - at);
    const bhs = encodeDataOut(
      {
        final: at + size === end,
        lun: t.lunField,
        itt: t.itt,
        ttt,
        expStatSN: t.via?.expStatSN ?? s.expStatSN,
        dataSN: dataSN++,
        bufferOffset: at,
        dataSegmentLength: size,
      },
      SCRATCH_BHS,
    );
    connection.send(bhs, data.subarray(at, at + size));
  }
  s.stats.dataOutPdus += dataSN;
  s.stats.bytesOut += length;
}
