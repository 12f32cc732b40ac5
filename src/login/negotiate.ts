// The negotiation book of one login: our offers, the target's answers and offers, the result functions and
// "negotiate once" of RFC 7143 §6.2 (§6.2.1 lists, §6.2.2 simple values) over the keys of §13.

import { IscsiError } from "../contract/errors.ts";
import { DigestRejected } from "./status.ts";
import { TextFormatError, parseBoolean, parseList, parseNumber, show } from "../pdu/text.ts";
import {
  KEYS,
  PROPOSAL_KEYS,
  RESERVED_ANSWERS,
  SECURITY_KEYS,
  wireValue,
  type KeyDef,
  type OperationalProposal,
} from "./keys.ts";

export type SessionType = "Normal" | "Discovery";

/** The operational outcome of a login; login.ts adds identity, auth and sequence numbers. */
export interface OperationalResult {
  headerDigest: boolean;
  dataDigest: boolean;
  maxRecvDataSegmentLength: number; // ours, declared
  maxXmitDataSegmentLength: number; // the target's declared MaxRecvDataSegmentLength
  maxBurstLength: number;
  firstBurstLength: number;
  initialR2T: boolean;
  immediateData: boolean;
  maxOutstandingR2T: number;
  dataPDUInOrder: boolean;
  dataSequenceInOrder: boolean;
  errorRecoveryLevel: number;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  maxConnections: number;
  targetAlias?: string;
  targetPortalGroupTag?: number;
}

const DISCOVERY_OFFERS: ReadonlySet<string> = new Set(["HeaderDigest", "DataDigest", "MaxRecvDataSegmentLength"]);
/** Values we support for keys outside the proposal, when the target offers them. */
const FIXED_VALUES: ReadonlyMap<string, string> = new Map([
  ["TaskReporting", "RFC3720"],
  ["iSCSIProtocolLevel", "1"],
]);

const protocol = (message: string) => new IscsiError("PROTOCOL", message);
const yesNo = (b: boolean) => (b ? "Yes" : "No");

/** Why `answer` is not an acceptable answer to our offer `ours` of key `def`, or undefined if it is. */
function answerProblem(def: KeyDef, ours: string, answer: string): string | undefined {
  try {
    if (def.kind === "list") {
      const offered = ours.split(",");
      if (!offered.includes(answer)) return `answered ${def.name}=${show(answer)}, not one of our offer ${ours}`;
    } else if (def.kind === "numeric") {
      const n = parseNumber(answer, def.name, def.min, def.max);
      const o = Number(ours);
      if (def.fn === "min" && n > o) return `answered ${def.name}=${n}, above our offer ${o} (result function Min)`;
      if (def.fn === "max" && n < o) return `answered ${def.name}=${n}, below our offer ${o} (result function Max)`;
    } else if (def.kind === "boolean") {
      const b = parseBoolean(answer, def.name);
      if (def.fn === "or" && ours === "Yes" && !b) return `answered ${def.name}=No to our Yes (result function OR)`;
      if (def.fn === "and" && ours === "No" && b) return `answered ${def.name}=Yes to our No (result function AND)`;
    }
  } catch (err) {
    return `answered badly: ${(err as Error).message}`;
  }
  return undefined;
}

/** Keys negotiated per connection; every other operational key is leading-only (RFC 7143 §13, "LO"). */
const CONNECTION_KEYS: ReadonlySet<string> = new Set(["HeaderDigest", "DataDigest", "MaxRecvDataSegmentLength"]);

/** Default in wire form, for Reject/Irrelevant/NotUnderstood answers (§6.2). */
function defaultWire(def: KeyDef): string | undefined {
  if (def.kind === "list") return def.default;
  if (def.kind === "numeric") return String(def.default);
  if (def.kind === "boolean") return yesNo(def.default);
  return undefined;
}

export class Negotiation {
  /** Keys we offered and await an answer for, with the value offered. */
  readonly #offered = new Map<string, string>();
  /** Our declarations already sent. */
  readonly #declared = new Set<string>();
  /** Every key the target has sent in this login (§6.2: negotiate once). */
  readonly #fromTarget = new Set<string>();
  /** Outcome so far in wire form: negotiated results and the target's declarations. */
  readonly #results = new Map<string, string>();

  constructor(
    readonly sessionType: SessionType,
    readonly proposal: OperationalProposal,
    /** False for a connection added to a session: only connection-scope keys are offered (RFC 7143 §13). */
    readonly leading = true,
  ) {}

  /** Our operational offers and declarations not yet exchanged; each is offered at most once. */
  offers(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [key, field] of PROPOSAL_KEYS) {
      if (this.sessionType === "Discovery" && !DISCOVERY_OFFERS.has(key)) continue;
      if (!this.leading && !CONNECTION_KEYS.has(key)) continue;
      const def = KEYS.get(key);
      const value = wireValue(this.proposal[field]);
      if (def?.kind === "numeric" && def.fn === "declarative") {
        // Declarations go each way independently (§6.2): the target's own says nothing about ours.
        if (!this.#declared.has(key)) out.push([key, value]);
        this.#declared.add(key);
      } else if (!this.#offered.has(key) && !this.#fromTarget.has(key)) {
        out.push([key, value]);
        this.#offered.set(key, value);
      }
    }
    return out;
  }

  /**
   * Takes one complete response's pairs: checks answers to our offers, records declarations, computes our
   * answers to the target's offers (returned, to go in the next request) and hands back the security keys.
   */
  receive(
    pairs: ReadonlyArray<readonly [string, string]>,
    stage: "security" | "operational",
  ): {
    answers: Array<[string, string]>;
    security: Map<string, string>;
  } {
    try {
      return this.#receive(pairs, stage);
    } catch (err) {
      if (err instanceof TextFormatError) throw new IscsiError("PROTOCOL", err.message, { cause: err });
      throw err;
    }
  }

  #receive(pairs: ReadonlyArray<readonly [string, string]>, stage: "security" | "operational") {
    const answers: Array<[string, string]> = [];
    const security = new Map<string, string>();
    for (const [key, value] of pairs) {
      if (this.#fromTarget.has(key))
        throw protocol(`target sent ${key} twice in one login (RFC 7143 §6.2: negotiate once)`);
      this.#fromTarget.add(key);
      if (SECURITY_KEYS.has(key)) {
        if (stage !== "security") throw protocol(`target sent security key ${key} in the operational stage`);
        security.set(key, value);
        continue;
      }
      const def = KEYS.get(key);
      const offered = this.#offered.get(key);
      if (offered !== undefined) {
        this.#acceptAnswer(def as KeyDef, offered, value);
        this.#offered.delete(key);
      } else if (!def) {
        if (RESERVED_ANSWERS.has(value))
          throw protocol(`target answered ${key}=${value} although we never sent ${key}`);
        answers.push([key, "NotUnderstood"]); // §6.2: unknown keys, X- and X# extensions included
      } else if (def.sender === "initiator") {
        throw protocol(`target sent ${key}=${show(value)}, a key only the initiator may send`);
      } else if (def.kind === "obsolete") {
        answers.push([key, "Reject"]); // §13.25: Reject, never NotUnderstood
      } else {
        const answer = this.#respond(def, value);
        if (answer !== undefined) answers.push([key, answer]);
      }
    }
    return { answers, security };
  }

  #acceptAnswer(def: KeyDef, ours: string, answer: string): void {
    // QUIRK(istgt 0.4, UseDigest Data): it answers DataDigest=Reject to "None" and then uses CRC32C anyway, which
    // would desynchronise the stream. A rejected digest offer therefore ends the login instead of meaning None.
    if (answer === "Reject" && (def.name === "HeaderDigest" || def.name === "DataDigest")) {
      throw new DigestRejected(def.name, ours);
    }
    if (RESERVED_ANSWERS.has(answer)) {
      const fallback = defaultWire(def);
      const problem = fallback === undefined ? "it has no default" : answerProblem(def, ours, fallback);
      if (problem !== undefined) {
        throw new IscsiError(
          "LOGIN_FATAL",
          `target answered ${def.name}=${answer} to our ${def.name}=${ours}, and the default does not fit: ${problem}`,
        );
      }
      this.#results.set(def.name, fallback as string);
      return;
    }
    const problem = answerProblem(def, ours, answer);
    if (problem !== undefined) throw protocol(`target ${problem}`);
    this.#results.set(def.name, answer);
  }

  /** Our answer to a target offer, or undefined for declarations (which need none). */
  #respond(def: KeyDef, value: string): string | undefined {
    const key = def.name;
    if (def.kind === "text") {
      this.#results.set(key, value);
      return undefined;
    }
    if (def.kind === "numeric" && def.fn === "declarative") {
      // Case 21: a reserved constant instead of a declaration means the default.
      const n = RESERVED_ANSWERS.has(value) ? def.default : parseNumber(value, key, def.min, def.max);
      this.#results.set(key, String(n));
      return undefined;
    }
    if (RESERVED_ANSWERS.has(value)) throw protocol(`target answered ${key}=${value} although we never sent ${key}`);
    if (this.sessionType === "Discovery" && !def.discovery) return "Irrelevant";
    const field = PROPOSAL_KEYS.find(([k]) => k === key)?.[1];
    const ours = field ? wireValue(this.proposal[field]) : (FIXED_VALUES.get(key) ?? defaultWire(def) ?? "");
    let result: string;
    if (def.kind === "list") {
      const acceptable = ours.split(",");
      const choice = parseList(value, key).find((v) => acceptable.includes(v));
      if (choice === undefined) return "Reject"; // the key keeps its default
      result = choice;
    } else if (def.kind === "numeric") {
      const n = parseNumber(value, key, def.min, def.max);
      result = String(def.fn === "min" ? Math.min(n, Number(ours)) : Math.max(n, Number(ours)));
    } else if (def.kind === "boolean") {
      const b = parseBoolean(value, key);
      result = yesNo(def.fn === "or" ? b || ours === "Yes" : b && ours === "Yes");
    } else {
      return "Reject";
    }
    this.#results.set(key, result);
    return result;
  }

  /** After the final response: implied results for omitted answers, defaults, and the cross-key checks. */
  finish(): OperationalResult {
    const get = (key: string): string | undefined => this.#results.get(key);
    const bool = (key: string) => (get(key) ?? defaultWire(KEYS.get(key) as KeyDef)) === "Yes";
    let irrelevantFirstBurst = false;
    for (const [key, ours] of this.#offered) {
      const def = KEYS.get(key) as KeyDef;
      // §6.2.2: answers to OR=Yes and AND=No are optional, the outcome being fixed.
      if (def.kind === "boolean" && ((def.fn === "or" && ours === "Yes") || (def.fn === "and" && ours === "No"))) {
        this.#results.set(key, ours);
        continue;
      }
      // §13.14: FirstBurstLength is irrelevant with InitialR2T=Yes and ImmediateData=No.
      if (key === "FirstBurstLength" && bool("InitialR2T") && !bool("ImmediateData")) {
        irrelevantFirstBurst = true;
        continue;
      }
      throw protocol(`target never answered ${key}=${ours}`);
    }
    const num = (key: string) => Number(get(key) ?? defaultWire(KEYS.get(key) as KeyDef));
    const result: OperationalResult = {
      headerDigest: get("HeaderDigest") === "CRC32C",
      dataDigest: get("DataDigest") === "CRC32C",
      maxRecvDataSegmentLength: this.proposal.maxRecvDataSegmentLength,
      maxXmitDataSegmentLength: num("MaxRecvDataSegmentLength"),
      maxBurstLength: num("MaxBurstLength"),
      firstBurstLength: num("FirstBurstLength"),
      initialR2T: bool("InitialR2T"),
      immediateData: bool("ImmediateData"),
      maxOutstandingR2T: num("MaxOutstandingR2T"),
      dataPDUInOrder: bool("DataPDUInOrder"),
      dataSequenceInOrder: bool("DataSequenceInOrder"),
      errorRecoveryLevel: num("ErrorRecoveryLevel"),
      defaultTime2Wait: num("DefaultTime2Wait"),
      defaultTime2Retain: num("DefaultTime2Retain"),
      maxConnections: num("MaxConnections"),
    };
    // Unanswered because irrelevant: the default where it fits, but never above our offer or MaxBurstLength.
    if (irrelevantFirstBurst)
      result.firstBurstLength = Math.min(
        result.firstBurstLength,
        this.proposal.firstBurstLength,
        result.maxBurstLength,
      );
    const alias = get("TargetAlias");
    if (alias !== undefined) result.targetAlias = alias;
    const tpgt = get("TargetPortalGroupTag");
    if (tpgt !== undefined) result.targetPortalGroupTag = Number(tpgt);
    if (result.firstBurstLength > result.maxBurstLength) {
      throw protocol(
        `negotiated FirstBurstLength=${result.firstBurstLength} exceeds MaxBurstLength=${result.maxBurstLength} (RFC 7143 §13.14)`,
      );
    }
    return result;
  }
}
