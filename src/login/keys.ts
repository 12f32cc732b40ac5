// The login keys of RFC 7143 §13 (and the security keys of §12): type, range, default, result function and
// sender of each, plus our operational proposal and its defaults.

export type Sender = "initiator" | "target" | "both";

interface KeyBase {
  readonly name: string;
  readonly sender: Sender;
  /** Meaningful in a Discovery session; otherwise a target offer there is answered Irrelevant. */
  readonly discovery: boolean;
}
/** Numbers negotiated by Min/Max (§6.2.2) or declared by one side. */
export interface NumericKey extends KeyBase {
  readonly kind: "numeric";
  readonly fn: "min" | "max" | "declarative";
  readonly min: number;
  readonly max: number;
  readonly default: number;
}
/** Booleans negotiated by OR or AND (§6.2.2). */
export interface BooleanKey extends KeyBase {
  readonly kind: "boolean";
  readonly fn: "or" | "and";
  readonly default: boolean;
}
/** List negotiation (§6.2.1): the responder picks one value of the originator's list. */
export interface ListKey extends KeyBase {
  readonly kind: "list";
  readonly values: readonly string[];
  readonly default: string;
}
/** Declarative text: names, aliases, addresses, session type. */
export interface TextKey extends KeyBase {
  readonly kind: "text";
}
/** Obsoleted by RFC 7143 §13.25: answered Reject, never NotUnderstood. */
export interface ObsoleteKey extends KeyBase {
  readonly kind: "obsolete";
}
export type KeyDef = NumericKey | BooleanKey | ListKey | TextKey | ObsoleteKey;

const LENGTH = { min: 512, max: 2 ** 24 - 1 }; // §13.12–§13.14
const num = (
  name: string,
  fn: NumericKey["fn"],
  min: number,
  max: number,
  dflt: number,
  discovery = false,
  sender: Sender = "both",
): NumericKey => ({ name, kind: "numeric", fn, min, max, default: dflt, discovery, sender });
const bool = (name: string, fn: BooleanKey["fn"], dflt: boolean): BooleanKey => ({
  name,
  kind: "boolean",
  fn,
  default: dflt,
  discovery: false,
  sender: "both",
});
const list = (name: string, values: string[], dflt: string, discovery: boolean): ListKey => ({
  name,
  kind: "list",
  values,
  default: dflt,
  discovery,
  sender: "both",
});
const text = (name: string, sender: Sender): TextKey => ({ name, kind: "text", sender, discovery: true });
const obsolete = (name: string): ObsoleteKey => ({ name, kind: "obsolete", sender: "both", discovery: true });

/** Every non-security key we know, by name. A Map, so peer-chosen names such as __proto__ are just misses. */
export const KEYS: ReadonlyMap<string, KeyDef> = new Map(
  [
    list("HeaderDigest", ["CRC32C", "None"], "None", true), // §13.1
    list("DataDigest", ["CRC32C", "None"], "None", true),
    num("MaxConnections", "min", 1, 65535, 1), // §13.2
    text("SendTargets", "initiator"), // §13.3 (Text requests only)
    text("TargetName", "initiator"), // §13.4: the target sends it only in SendTargets answers
    text("InitiatorName", "initiator"), // §13.5
    text("TargetAlias", "target"), // §13.6
    text("InitiatorAlias", "initiator"), // §13.7
    text("TargetAddress", "target"), // §13.8
    num("TargetPortalGroupTag", "declarative", 0, 65535, 0, true, "target"), // §13.9 (no default: only ever declared)
    bool("InitialR2T", "or", true), // §13.10
    bool("ImmediateData", "and", true), // §13.11
    num("MaxRecvDataSegmentLength", "declarative", LENGTH.min, LENGTH.max, 8192, true), // §13.12
    num("MaxBurstLength", "min", LENGTH.min, LENGTH.max, 262144), // §13.13
    num("FirstBurstLength", "min", LENGTH.min, LENGTH.max, 65536), // §13.14
    num("DefaultTime2Wait", "max", 0, 3600, 2), // §13.15
    num("DefaultTime2Retain", "min", 0, 3600, 20), // §13.16
    num("MaxOutstandingR2T", "min", 1, 65535, 1), // §13.17
    bool("DataPDUInOrder", "or", true), // §13.18
    bool("DataSequenceInOrder", "or", true), // §13.19
    num("ErrorRecoveryLevel", "min", 0, 2, 0), // §13.20
    text("SessionType", "initiator"), // §13.21
    list("TaskReporting", ["RFC3720", "ResponseFence", "FastAbort"], "RFC3720", false), // §13.23
    num("iSCSIProtocolLevel", "min", 0, 31, 1), // RFC 7144 §2.1
    obsolete("IFMarker"), // §13.25
    obsolete("OFMarker"),
    obsolete("IFMarkInt"),
    obsolete("OFMarkInt"),
  ].map((def) => [def.name, def]),
);

/** Keys of the security stage (§12.1, §12.1.3), handled by the login code rather than the negotiation book. */
export const SECURITY_KEYS: ReadonlySet<string> = new Set([
  "AuthMethod",
  "CHAP_A",
  "CHAP_I",
  "CHAP_C",
  "CHAP_N",
  "CHAP_R",
]);

/** Reserved answers of §6.2: they need no further reply and mean "keep the default". */
export const RESERVED_ANSWERS: ReadonlySet<string> = new Set(["Reject", "Irrelevant", "NotUnderstood"]);

export type Digest = "CRC32C" | "None";

/** What we offer in the operational stage. */
export interface OperationalProposal {
  headerDigest: readonly Digest[]; // preference order
  dataDigest: readonly Digest[];
  maxConnections: number;
  initialR2T: boolean;
  immediateData: boolean;
  maxRecvDataSegmentLength: number; // declared: what we accept per PDU
  maxBurstLength: number;
  firstBurstLength: number;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  maxOutstandingR2T: number;
  dataPDUInOrder: boolean;
  dataSequenceInOrder: boolean;
  errorRecoveryLevel: number;
}

export const DEFAULT_PROPOSAL: Readonly<OperationalProposal> = Object.freeze({
  // Like libiscsi and open-iscsi's "None,CRC32C": no digest unless the target insists (RFC 7143 §13.1).
  headerDigest: Object.freeze(["None", "CRC32C"] as Digest[]),
  dataDigest: Object.freeze(["None", "CRC32C"] as Digest[]),
  maxConnections: 1,
  initialR2T: false,
  immediateData: true,
  maxRecvDataSegmentLength: 262144,
  maxBurstLength: 16776192,
  firstBurstLength: 262144,
  defaultTime2Wait: 2,
  defaultTime2Retain: 20,
  maxOutstandingR2T: 1,
  dataPDUInOrder: true,
  dataSequenceInOrder: true,
  errorRecoveryLevel: 0,
});

/** Key name → proposal field, in the order the keys go on the wire. */
export const PROPOSAL_KEYS: ReadonlyArray<readonly [string, keyof OperationalProposal]> = [
  ["HeaderDigest", "headerDigest"],
  ["DataDigest", "dataDigest"],
  ["MaxConnections", "maxConnections"],
  ["InitialR2T", "initialR2T"],
  ["ImmediateData", "immediateData"],
  ["MaxRecvDataSegmentLength", "maxRecvDataSegmentLength"],
  ["MaxBurstLength", "maxBurstLength"],
  ["FirstBurstLength", "firstBurstLength"],
  ["DefaultTime2Wait", "defaultTime2Wait"],
  ["DefaultTime2Retain", "defaultTime2Retain"],
  ["MaxOutstandingR2T", "maxOutstandingR2T"],
  ["DataPDUInOrder", "dataPDUInOrder"],
  ["DataSequenceInOrder", "dataSequenceInOrder"],
  ["ErrorRecoveryLevel", "errorRecoveryLevel"],
];

/** Our proposal value in wire form: lists comma-joined, booleans Yes/No, numbers decimal. */
export function wireValue(value: OperationalProposal[keyof OperationalProposal]): string {
  if (typeof value === "boolean") return value ? "Yes" : "No";
  if (typeof value === "number") return String(value);
  return value.join(",");
}

/** Problems with a proposal (range, list contents, FirstBurstLength ≤ MaxBurstLength), as messages. */
export function proposalProblems(p: OperationalProposal): string[] {
  const problems: string[] = [];
  for (const [key, field] of PROPOSAL_KEYS) {
    const def = KEYS.get(key);
    const value = p[field];
    if (def?.kind === "numeric" && typeof value === "number") {
      if (!Number.isInteger(value) || value < def.min || value > def.max) {
        problems.push(`${key}=${value} is outside ${def.min}–${def.max}`);
      }
    } else if (def?.kind === "list" && Array.isArray(value)) {
      if (value.length === 0 || new Set(value).size !== value.length || value.some((v) => !def.values.includes(v))) {
        problems.push(`${key}=${value.join(",")} must list distinct values of ${def.values.join(",")}`);
      }
    } else if (def?.kind === "boolean" && typeof value !== "boolean") {
      problems.push(`${key} must be a boolean`);
    }
  }
  // RFC 7143 §13.14: FirstBurstLength MUST NOT exceed MaxBurstLength.
  if (p.firstBurstLength > p.maxBurstLength) {
    problems.push(`FirstBurstLength=${p.firstBurstLength} exceeds MaxBurstLength=${p.maxBurstLength}`);
  }
  return problems;
}
