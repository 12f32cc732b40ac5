// The two errors of the SCSI layer: a command that ended with a non-GOOD status (SPC-4 §4.5 sense data) and
// response data that breaks its SPC-4/SBC-3 layout; their `code`s are entries of the catalogue in src/contract/errors.ts.
import type { Sense } from "./sense-types.ts";
import { describeStatus } from "./status.ts";

/** A command completed with a status other than GOOD; the message names command, status and decoded sense. */
export class ScsiStatusError extends Error {
  readonly code = "SCSI_STATUS";
  readonly command: string;
  readonly status: number;
  readonly sense?: Sense;
  constructor(command: string, status: number, sense?: Sense, options?: ErrorOptions) {
    super(`${command} failed: ${describeStatus(status, sense)}`, options);
    this.name = "ScsiStatusError";
    this.command = command;
    this.status = status;
    this.sense = sense;
  }
}

/** The target sent parameter or sense data we cannot decode; the message names command, field and lengths. */
export class ScsiFormatError extends Error {
  readonly code = "PROTOCOL";
  readonly command: string;
  constructor(command: string, detail: string, options?: ErrorOptions) {
    super(`${command}: ${detail}`, options);
    this.name = "ScsiFormatError";
    this.command = command;
  }
}
