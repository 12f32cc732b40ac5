// Login Response status classes and details, RFC 7143 §11.13.5, mapped onto the error catalogue, and the
// typed errors a caller's retry policy branches on (redirect, rejection, CHAP algorithm refusal).

import { IscsiError } from "../contract/errors.ts";
import { parseTargetAddress, parseTextKeys, type TargetAddress } from "../pdu/text.ts";

/** Status class 1: the target moved; the caller reconnects to `address` (bounding the number of hops). */
export class LoginRedirect extends IscsiError {
  override readonly name = "LoginRedirect";
  constructor(
    message: string,
    readonly address: TargetAddress,
    readonly permanent: boolean,
  ) {
    super("LOGIN", message);
  }
}

/** Status classes 2 and 3: the target refused the login. Class 3 (code LOGIN) may be retried later. */
export class LoginRejected extends IscsiError {
  override readonly name = "LoginRejected";
  constructor(
    code: "AUTH_FAILED" | "LOGIN_FATAL" | "LOGIN",
    message: string,
    readonly statusClass: number,
    readonly statusDetail: number,
  ) {
    super(code, message);
  }
}

/**
 * The target refused our CHAP_A list (CHAP_A=Reject, or an authentication failure right after the offer).
 * With `retryWithMd5Only` the caller may log in again on a new connection offering only algorithm 5:
 * some targets refuse lists containing algorithms they do not know instead of ignoring those values.
 */
/** The target answered Reject to our HeaderDigest/DataDigest offer (RFC 7143 §13.1): it wants what we did not offer. */
export class DigestRejected extends IscsiError {
  override readonly name = "DigestRejected";
  constructor(
    readonly key: "HeaderDigest" | "DataDigest",
    offered: string,
  ) {
    super(
      "LOGIN_FATAL",
      `target rejected our ${key}=${offered}; it probably requires CRC32C ${key === "HeaderDigest" ? "header" : "data"} digests: offer CRC32C`,
    );
  }
}

export class ChapAlgorithmRejected extends IscsiError {
  override readonly name = "ChapAlgorithmRejected";
  constructor(
    message: string,
    readonly retryWithMd5Only: boolean,
    options?: { cause?: unknown },
  ) {
    super("AUTH_FAILED", message, options);
  }
}

const INITIATOR_ERRORS: ReadonlyMap<number, string> = new Map([
  [0x00, "initiator error"],
  [0x01, "authentication failure"],
  [0x02, "authorization failure"],
  [0x03, "target not found"],
  [0x04, "target removed"],
  [0x05, "unsupported version"],
  [0x06, "too many connections"],
  [0x07, "missing parameter"],
  [0x08, "can't include in session"],
  [0x09, "session type not supported"],
  [0x0a, "session does not exist"],
  [0x0b, "invalid during login"],
]);

const TARGET_ERRORS: ReadonlyMap<number, string> = new Map([
  [0x00, "target error"],
  [0x01, "service unavailable"],
  [0x02, "out of resources"],
]);

const hex2 = (n: number) => `0x${n.toString(16).padStart(2, "0")}`;

/** The error for a non-zero status class; `data` is the response's data segment (TargetAddress for class 1). */
export function statusError(statusClass: number, statusDetail: number, data: Uint8Array): IscsiError {
  const status = `status ${hex2(statusClass)}/${hex2(statusDetail)}`;
  if (statusClass === 1) {
    if (statusDetail !== 0x01 && statusDetail !== 0x02) {
      return new IscsiError("PROTOCOL", `redirect with unknown ${status}`);
    }
    const addresses = parseTextKeys(data).filter(([key]) => key === "TargetAddress");
    if (addresses.length !== 1) {
      return new IscsiError("PROTOCOL", `redirect (${status}) carries ${addresses.length} TargetAddress keys, not 1`);
    }
    const permanent = statusDetail === 0x02;
    const address = parseTargetAddress(addresses[0]?.[1] ?? "");
    const kind = permanent ? "permanently" : "temporarily";
    return new LoginRedirect(`target moved ${kind} to ${address.host}:${address.port} (${status})`, address, permanent);
  }
  if (statusClass === 2) {
    const what = INITIATOR_ERRORS.get(statusDetail) ?? "unknown initiator error";
    const code = statusDetail === 0x01 || statusDetail === 0x02 ? "AUTH_FAILED" : "LOGIN_FATAL";
    return new LoginRejected(code, `target refused the login: ${what} (${status})`, statusClass, statusDetail);
  }
  if (statusClass === 3) {
    const what = TARGET_ERRORS.get(statusDetail) ?? "unknown target error";
    return new LoginRejected(
      "LOGIN",
      `target could not log us in: ${what} (${status}), retry later`,
      statusClass,
      statusDetail,
    );
  }
  return new IscsiError("PROTOCOL", `unknown login ${status}`);
}
