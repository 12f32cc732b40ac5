// SCSI status codes (SAM-5 status, SPC-4 §4.5) and sense key names (SPC-4 §4.5.6), and their one-line description.
import type { Sense } from "./sense-types.ts";

export const ScsiStatus = {
  Good: 0x00,
  CheckCondition: 0x02,
  ConditionMet: 0x04,
  Busy: 0x08,
  ReservationConflict: 0x18,
  TaskSetFull: 0x28,
  AcaActive: 0x30,
  TaskAborted: 0x40,
} as const;

const STATUS_NAMES: Record<number, string> = {
  0x00: "GOOD",
  0x02: "CHECK CONDITION",
  0x04: "CONDITION MET",
  0x08: "BUSY",
  0x10: "INTERMEDIATE", // obsolete since SAM-4, named so old targets still read well
  0x14: "INTERMEDIATE-CONDITION MET",
  0x18: "RESERVATION CONFLICT",
  0x22: "COMMAND TERMINATED",
  0x28: "TASK SET FULL",
  0x30: "ACA ACTIVE",
  0x40: "TASK ABORTED",
};

export const SenseKey = {
  NoSense: 0x0,
  RecoveredError: 0x1,
  NotReady: 0x2,
  MediumError: 0x3,
  HardwareError: 0x4,
  IllegalRequest: 0x5,
  UnitAttention: 0x6,
  DataProtect: 0x7,
  BlankCheck: 0x8,
  VendorSpecific: 0x9,
  CopyAborted: 0xa,
  AbortedCommand: 0xb,
  VolumeOverflow: 0xd,
  Miscompare: 0xe,
  Completed: 0xf,
} as const;

const SENSE_KEY_NAMES = [
  "NO SENSE",
  "RECOVERED ERROR",
  "NOT READY",
  "MEDIUM ERROR",
  "HARDWARE ERROR",
  "ILLEGAL REQUEST",
  "UNIT ATTENTION",
  "DATA PROTECT",
  "BLANK CHECK",
  "VENDOR SPECIFIC",
  "COPY ABORTED",
  "ABORTED COMMAND",
  "RESERVED",
  "VOLUME OVERFLOW",
  "MISCOMPARE",
  "COMPLETED",
];

export function hexByte(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, "0");
}

export function statusName(status: number): string {
  return STATUS_NAMES[status] ?? `STATUS 0x${hexByte(status)}`;
}

export function senseKeyName(senseKey: number): string {
  return SENSE_KEY_NAMES[senseKey] ?? `SENSE KEY 0x${hexByte(senseKey)}`;
}

/** "ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h)", flagged when deferred or cut short. */
export function describeSense(sense: Sense): string {
  let text = `${sense.senseKeyName}: ${sense.ascqText} (${hexByte(sense.asc)}h/${hexByte(sense.ascq)}h)`;
  if (sense.deferred) text += " [deferred error]";
  if (sense.truncated) text += " [sense data truncated]";
  return text;
}

/** "CHECK CONDITION, ILLEGAL REQUEST: …" or just the status name when there is no sense. */
export function describeStatus(status: number, sense?: Sense): string {
  return sense === undefined ? statusName(status) : `${statusName(status)}, ${describeSense(sense)}`;
}
