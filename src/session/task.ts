// What a caller hands to `session.execute()` and what it gets back (docs/architecture.md, "Sessions"), and the per-task
// state the session keeps while the command is outstanding (RFC 7143 §11.3, §11.4, §11.7, §11.8).
import type { Frame, TargetPdu } from "../pdu/types.ts";
import type { Connection } from "../connection/connection.ts";

export type Direction = "none" | "read" | "write";

export interface ScsiTask {
  lun: number;
  cdb: Uint8Array;
  direction: Direction;
  /** Bytes in the data phase (ExpectedDataTransferLength). */
  transferLength: number;
  /** Write source; at least transferLength bytes. Not copied: keep it unchanged until the promise settles. */
  data?: Uint8Array;
  /** Read destination; at least transferLength bytes. Allocated when absent. */
  buffer?: Uint8Array;
  /** Task attribute, RFC 7143 §11.3.1.2 (0 untagged, 1 simple, 2 ordered, 3 head of queue, 4 ACA). */
  attr?: number;
  /** Name for messages ("READ(16)"). */
  name?: string;
}

export interface ScsiResult {
  status: number;
  /** Sense bytes when the target sent any (CHECK CONDITION). */
  sense?: Uint8Array;
  /** Residual Count with its meaning: underflow = fewer bytes moved than expected. */
  residualUnderflow: number;
  residualOverflow: number;
  /** Read data actually transferred (the destination buffer cut to transferLength − underflow). */
  data: Uint8Array;
}

export interface TaskState {
  kind: "scsi";
  itt: number;
  task: ScsiTask;
  lunField: bigint;
  cmdSN: number;
  buffer: Uint8Array;
  /** Next DataSN expected on Data-In; next R2TSN expected on R2T. */
  nextDataSN: number;
  nextR2TSN: number;
  /** Read bytes received so far (highest offset reached). */
  received: number;
  resolve: (r: ScsiResult) => void;
  reject: (e: Error) => void;
  sent: boolean;
  /** performance.now() when the command went out, for the latency counter. */
  sentAt: number;
  /** performance.now() when the caller submitted it: the command timeout of a command still unsent counts from here. */
  queuedAt: number;
  placed?: Uint8Array | undefined;
  /** Runs while the session re-checks LU identity after a reinstatement, ahead of everything queued. */
  priority: boolean;
  /** Its command timeout has passed and escalation began (RFC 7143 leaves timeouts to the SCSI layer; timeouts.ts). */
  expired: boolean;
  /** MC/S: the connection it is allegiant to, when not the leading one (connections.ts, RFC 7143 §6.1). */
  via?: ExtraConnection | undefined;
}

/**
 * Commands whose replay after a lost connection could do harm when the first attempt may have run
 * (docs/reliability.md, section G): they fail with "outcome unknown" instead of being re-issued.
 * COMPARE AND WRITE, PERSISTENT RESERVE OUT, RESERVE/RELEASE(6/10), WRITE BUFFER, XDWRITEREAD, MAINTENANCE OUT.
 */
const NOT_IDEMPOTENT = new Set([0x89, 0x5f, 0x16, 0x17, 0x56, 0x57, 0x3b, 0x53, 0xa4]);

export function replayable(task: ScsiTask): boolean {
  return !NOT_IDEMPOTENT.has(task.cdb[0]!);
}

/** A NOP, Text, Logout or Task Management request waiting for its response; it shares the ITT space of SCSI tasks. */
export interface PendingRequest {
  kind: "request";
  itt: number;
  what: string;
  /** Called for each response PDU with this ITT; returns true when the request is complete. */
  onResponse: (frame: Frame<TargetPdu>) => boolean;
  reject: (e: Error) => void;
}

/** One connection of the session beyond the leading one (CID ≥ 1). */
export interface ExtraConnection {
  cid: number;
  connection: Connection;
  /** StatSN acknowledgement of this connection (RFC 7143 §4.2.2.2: StatSN runs per connection). */
  expStatSN: number;
  /** The target's MaxRecvDataSegmentLength for this connection. */
  maxXmitDataSegmentLength: number;
  outstanding: number;
  commands: number;
}
