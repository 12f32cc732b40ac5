// iSNSP numbers (RFC 4171 §5.1.3 function IDs, §5.1.4 flags, §5.4 status codes, §6.1 attribute tags, §6.4.4 SCN
// bitmap, §6.4.2 node types), named as the RFC names them.

/** iSNSP version carried in every header (RFC 4171 §5.1). */
export const ISNSP_VERSION = 1;
/** IANA-assigned iSNS port (RFC 4171 §5.1). */
export const ISNS_PORT = 3205;
export const HEADER_BYTES = 12;

/** Function IDs of the messages we send or accept; a response is the request's ID with bit 0x8000 set. */
export const FUNCTION = {
  DevAttrReg: 0x0001,
  DevAttrQry: 0x0002,
  DevGetNext: 0x0003,
  DevDereg: 0x0004,
  SCNReg: 0x0005,
  SCNDereg: 0x0006,
  SCN: 0x0008,
  ESI: 0x000d,
} as const;
export const RESPONSE_BIT = 0x8000;

export const FUNCTION_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(FUNCTION).flatMap(([name, id]) => [
    [id, name],
    [id | RESPONSE_BIT, `${name}Rsp`],
  ]),
);

/** iSNSP header flags (RFC 4171 §5.1.4). */
export const FLAG = {
  client: 0x8000,
  server: 0x4000,
  authBlock: 0x2000,
  replace: 0x1000,
  lastPdu: 0x0800,
  firstPdu: 0x0400,
} as const;

/** Attribute tags (RFC 4171 §6.1) of the attributes we build or read. */
export const TAG = {
  delimiter: 0,
  entityIdentifier: 1,
  entityProtocol: 2,
  timestamp: 4,
  registrationPeriod: 6,
  portalIpAddress: 16,
  portalTcpUdpPort: 17,
  portalSymbolicName: 18,
  esiPort: 20,
  scnPort: 23,
  iscsiName: 32,
  iscsiNodeType: 33,
  iscsiAlias: 34,
  iscsiScnBitmap: 35,
  pgIscsiName: 48,
  pgPortalIpAddr: 49,
  pgPortalTcpUdpPort: 50,
  pgTag: 51,
  ddId: 2065,
} as const;

/** Entity Protocol values (RFC 4171 §6.2.2). */
export const ENTITY_PROTOCOL_ISCSI = 2;

/** iSCSI Node Type bits (RFC 4171 §6.4.2): bit 31 (LSB) Target, bit 30 Initiator, bit 29 Control. */
export const NODE_TYPE = { target: 0x1, initiator: 0x2, control: 0x4 } as const;

/** iSCSI SCN Bitmap bits (RFC 4171 §6.4.4), bit 31 being the least significant. */
export const SCN_BIT = {
  ddMemberAdded: 0x01,
  ddMemberRemoved: 0x02,
  objectUpdated: 0x04,
  objectAdded: 0x08,
  objectRemoved: 0x10,
  managementRegistration: 0x20,
  targetAndSelfOnly: 0x40,
  initiatorAndSelfOnly: 0x80,
} as const;

/** Status codes of responses (RFC 4171 §5.4) in the RFC's words. */
export const STATUS_NAMES: Record<number, string> = {
  0: "Successful",
  1: "Unknown Error",
  2: "Message Format Error",
  3: "Invalid Registration",
  5: "Invalid Query",
  6: "Source Unknown",
  7: "Source Absent",
  8: "Source Unauthorized",
  9: "No Such Entry",
  10: "Version Not Supported",
  11: "Internal Error",
  12: "Busy",
  13: "Option Not Understood",
  14: "Invalid Update",
  15: "Message (FUNCTION_ID) Not Supported",
  16: "SCN Event Rejected",
  17: "SCN Registration Rejected",
  18: "Attribute Not Implemented",
  21: "ESI Not Available",
  22: "Invalid Deregistration",
  23: "Registration Feature Not Supported",
};
