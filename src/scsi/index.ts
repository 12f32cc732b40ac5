// The SCSI layer, independent of iSCSI: SPC-4/SBC-3 CDB builders, response parsers, sense (RFC 7143 §11.4.7), LUNs.
export * from "./cdb.ts";
export * from "./capacity.ts";
export * from "./errors.ts";
export * from "./inquiry.ts";
export * from "./lun.ts";
export * from "./mode.ts";
export * from "./sense.ts";
export type * from "./sense-types.ts";
export * from "./status.ts";
export * from "./vpd.ts";
export { ascqText } from "./asc.ts";
