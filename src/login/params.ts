// What a login is asked to do and what it hands back (RFC 7143 §6.3, §11.12, §12.1.3), with the checks on
// the caller's parameters: names, identifiers, CHAP secret policy (§9.2.1) and the operational proposal (§13).

import { IscsiError } from "../contract/errors.ts";
import { MAX_ISCSI_NAME_BYTES, MAX_VALUE_BYTES } from "../pdu/text.ts";
import { CHAP_ALGORITHMS, DEFAULT_CHAP_ALGORITHMS, MIN_SECRET_BYTES, type RandomBytes } from "./chap.ts";
import { DEFAULT_PROPOSAL, proposalProblems, type OperationalProposal } from "./keys.ts";
import type { OperationalResult, SessionType } from "./negotiate.ts";

export interface ChapParams {
  method: "CHAP";
  username: string;
  secret: Uint8Array;
  /** CHAP_A preference order; default [7, 8, 6, 5] (SHA-256, SHA3-256, SHA-1, MD5). [5] after ChapAlgorithmRejected. */
  algorithms?: readonly number[];
  /** Authenticate the target too, expecting these credentials from it. */
  mutual?: { username: string; secret: Uint8Array };
  /** Accept secrets under 12 bytes (RFC 7143 §9.2.1 wants IPsec for those). Off by default. */
  allowShortSecrets?: boolean;
}

export interface LoginParams {
  initiatorName: string;
  initiatorAlias?: string;
  targetName?: string; // required for Normal sessions, absent for Discovery
  sessionType: SessionType;
  isid: number; // 48 bits, §11.12.5
  tsih: number; // 0 = new session
  cid: number;
  initialCmdSN: number;
  auth: { method: "None" } | ChapParams;
  proposal?: Partial<OperationalProposal>;
  /** Source of our CHAP identifier and challenge; crypto.getRandomValues unless a test replaces it. */
  random?: RandomBytes;
}

/** The one immutable record a successful login hands to the connection and session layers. */
export type Negotiated = Readonly<
  OperationalResult & {
    sessionType: SessionType;
    tsih: number;
    authMethod: "None" | "CHAP";
    chapAlgorithm?: number;
    cmdSN: number; // next CmdSN to use; the Login Request is immediate and did not advance it
    expStatSN: number; // next StatSN expected
    expCmdSN: number;
    maxCmdSN: number;
  }
>;

const utf8Length = (s: string) => new TextEncoder().encode(s).length;
const isUint = (n: number, bits: number) => Number.isInteger(n) && n >= 0 && n < 2 ** bits;

function nameProblem(what: string, name: string | undefined, max: number): string | undefined {
  if (name === undefined || name.length === 0) return `${what} is empty`;
  if (utf8Length(name) > max) return `${what} is longer than ${max} bytes`;
  if (/[\u0000-\u0020\u007f]/.test(name)) return `${what} contains a space or control character`;
  return undefined;
}

function chapProblems(auth: ChapParams): string[] {
  const problems: string[] = [];
  const userProblem = nameProblem("CHAP username", auth.username, MAX_VALUE_BYTES);
  if (userProblem) problems.push(userProblem);
  const min = auth.allowShortSecrets ? 1 : MIN_SECRET_BYTES;
  if (auth.secret.length < min) problems.push(`CHAP secret is shorter than ${min} bytes`);
  const algorithms = auth.algorithms ?? DEFAULT_CHAP_ALGORITHMS;
  if (
    algorithms.length === 0 ||
    new Set(algorithms).size !== algorithms.length ||
    algorithms.some((a) => !CHAP_ALGORITHMS.has(a))
  ) {
    problems.push(`CHAP algorithms ${algorithms.join(",")} must be distinct values of 5, 6, 7, 8`);
  }
  if (auth.mutual) {
    const mutualProblem = nameProblem("mutual CHAP username", auth.mutual.username, MAX_VALUE_BYTES);
    if (mutualProblem) problems.push(mutualProblem);
    if (auth.mutual.secret.length < min) problems.push(`mutual CHAP secret is shorter than ${min} bytes`);
    // §9.2.1: one secret in both directions lets a rogue target reflect our own response back at us.
    if (Buffer.compare(auth.mutual.secret, auth.secret) === 0)
      problems.push("initiator and target CHAP secrets are identical");
  }
  return problems;
}

/** Validates the caller's parameters (secrets never quoted) and returns the full proposal. */
export function checkParams(p: LoginParams): OperationalProposal {
  const problems: string[] = [];
  const initiatorProblem = nameProblem("InitiatorName", p.initiatorName, MAX_ISCSI_NAME_BYTES);
  if (initiatorProblem) problems.push(initiatorProblem);
  if (p.sessionType === "Normal") {
    const targetProblem = nameProblem("TargetName", p.targetName, MAX_ISCSI_NAME_BYTES);
    if (targetProblem) problems.push(targetProblem);
  } else if (p.sessionType === "Discovery") {
    if (p.targetName !== undefined) problems.push("a Discovery session takes no TargetName");
  } else {
    problems.push(`unknown session type ${String(p.sessionType)}`);
  }
  if (
    p.initiatorAlias !== undefined &&
    (p.initiatorAlias.includes("\0") || utf8Length(p.initiatorAlias) > MAX_VALUE_BYTES)
  ) {
    problems.push(`InitiatorAlias must be at most ${MAX_VALUE_BYTES} bytes without NUL`);
  }
  if (!isUint(p.isid, 48)) problems.push(`ISID ${p.isid} is not a 48-bit number`);
  if (!isUint(p.tsih, 16)) problems.push(`TSIH ${p.tsih} is not a 16-bit number`);
  if (!isUint(p.cid, 16)) problems.push(`CID ${p.cid} is not a 16-bit number`);
  if (!isUint(p.initialCmdSN, 32)) problems.push(`initial CmdSN ${p.initialCmdSN} is not a 32-bit number`);
  if (p.auth.method === "CHAP") problems.push(...chapProblems(p.auth));
  else if (p.auth.method !== "None")
    problems.push(`unknown auth method ${String((p.auth as { method: unknown }).method)}`);
  const proposal: OperationalProposal = { ...DEFAULT_PROPOSAL, ...p.proposal };
  problems.push(...proposalProblems(proposal));
  if (problems.length > 0) throw new IscsiError("CONFIG", `invalid login parameters: ${problems.join("; ")}`);
  return proposal;
}
