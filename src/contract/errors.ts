// One error catalogue shared by engine, daemon, IPC and CLI: a stable `code` per failure kind and the
// process exit code it maps to. Exit codes follow open-iscsi's iscsiadm (include/iscsi_err.h) where one exists.
// Leaf modules (pdu, scsi) throw their own classes carrying a `code` from this table; `exitCodeFor` reads it.

export const ERROR_CATALOGUE = {
  GENERIC: { exit: 1, what: "operation failed" },
  SESSION_NOT_FOUND: { exit: 2, what: "no such session" },
  TRANSPORT: { exit: 4, what: "connection to the target failed" },
  PROTOCOL: { exit: 4, what: "the target broke the iSCSI protocol" },
  DIGEST: { exit: 4, what: "CRC32C digest mismatch" },
  LOGIN: { exit: 5, what: "login failed" },
  NODE_DB: { exit: 6, what: "node database error" },
  INVALID_ARGUMENT: { exit: 7, what: "invalid argument" },
  CONFIG: { exit: 7, what: "invalid configuration" },
  TIMEOUT: { exit: 8, what: "timed out" },
  INTERNAL: { exit: 9, what: "internal error" },
  LOGOUT: { exit: 10, what: "logout failed" },
  PDU_TIMEOUT: { exit: 11, what: "no answer from the target in time" },
  ACCESS: { exit: 13, what: "permission denied" },
  SESSION_EXISTS: { exit: 15, what: "session already exists" },
  EXISTS: { exit: 15, what: "already exists" },
  INVALID_REQUEST: { exit: 16, what: "malformed request to the daemon" },
  DAEMON_COMM: { exit: 18, what: "cannot talk to the daemon" },
  LOGIN_FATAL: { exit: 19, what: "login refused by the target (not retryable)" },
  DAEMON_NOT_RUNNING: { exit: 20, what: "the daemon is not running" },
  NOT_FOUND: { exit: 21, what: "no matching objects" },
  AUTH_FAILED: { exit: 24, what: "authentication failed" },
  NOT_SUPPORTED: { exit: 27, what: "not supported" },
  ATTACH_UNAVAILABLE: { exit: 27, what: "attaching a LUN as a local disk is not available here" },
  BUSY: { exit: 28, what: "busy" },
  SCSI_STATUS: { exit: 1, what: "the SCSI command failed" },
  OUTCOME_UNKNOWN: { exit: 1, what: "outcome of the command is unknown" },
  ABORTED: { exit: 1, what: "operation aborted" },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The typed error of everything above the leaf modules. `message` names what was wrong. */
export class IscsiError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "IscsiError";
    this.code = code;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CATALOGUE, value);
}

/** The code of any error: ours, a leaf module's (same `code` strings) or a foreign one (GENERIC). */
export function errorCodeOf(err: unknown): ErrorCode {
  const code = (err as { code?: unknown } | null)?.code;
  return isErrorCode(code) ? code : "GENERIC";
}

export function exitCodeFor(err: unknown): number {
  return ERROR_CATALOGUE[errorCodeOf(err)].exit;
}
