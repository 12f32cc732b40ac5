// Decoded sense data (SPC-4 §4.5): the shapes only, so status text, errors and the decoder can share them.

/** Where in the CDB or parameter list an ILLEGAL REQUEST points (sense-key specific, SPC-4 §4.5.2.4.2). */
export interface FieldPointer {
  commandData: boolean; // C/D: true when the bad field is in the CDB, false when in the parameter data
  byte: number;
  bit?: number; // present when BPV is set
}

/** One descriptor of descriptor-format sense (SPC-4 §4.5.2), header included. */
export interface SenseDescriptor {
  type: number;
  data: Uint8Array;
}

export interface Sense {
  format: "fixed" | "descriptor";
  responseCode: number;
  deferred: boolean; // the error belongs to an earlier command (SPC-4 §4.5.5)
  senseKey: number;
  senseKeyName: string;
  asc: number;
  ascq: number;
  ascqText: string;
  ili: boolean; // incorrect length indicator
  information?: bigint; // only when the target marked it VALID; for READ/WRITE the first failing LBA
  fieldPointer?: FieldPointer;
  progress?: number; // progress indication 0..65535 of 65536, for NOT READY and NO SENSE
  descriptors: SenseDescriptor[];
  truncated: boolean;
}
