// Login as straight-line async code over an abstract exchange of Login PDUs: the stages of RFC 7143 §6.3,
// the field checks of §11.12/§11.13 on every response, CHAP per §12.1.3; no sockets, no retry policy.

import { IscsiError } from "../contract/errors.ts";
import { Opcode, type Fields, type LoginRequest, type LoginResponse } from "../pdu/types.ts";
import {
  LOGIN_TEXT_CAP,
  TextAccumulator,
  TextFormatError,
  decodeBinary,
  encodeHex,
  encodeTextKeys,
  parseNumber,
  show,
} from "../pdu/text.ts";
import { DEFAULT_CHAP_ALGORITHMS, chapAlgorithm, chapResponse, newChallenge, sameBytes } from "./chap.ts";
import type { OperationalProposal } from "./keys.ts";
import { Negotiation } from "./negotiate.ts";
import { checkParams, type ChapParams, type LoginParams, type Negotiated } from "./params.ts";
import { ChapAlgorithmRejected, LoginRejected, statusError } from "./status.ts";

export type { ChapParams, LoginParams, Negotiated } from "./params.ts";
export { ChapAlgorithmRejected, DigestRejected, LoginRedirect, LoginRejected } from "./status.ts";

export interface LoginExchange {
  exchange(request: Fields<LoginRequest>, data: Uint8Array): Promise<{ pdu: LoginResponse; data: Uint8Array }>;
}

const SECURITY = 0;
const OPERATIONAL = 1;
const FULL_FEATURE = 3;
const STAGE_NAMES = ["SecurityNegotiation", "LoginOperationalNegotiation", "(reserved stage 2)", "FullFeaturePhase"];
/** RFC 7143 §13.12: the default MaxRecvDataSegmentLength applies to Login PDUs in both directions. */
const LOGIN_PDU_DATA = 8192;
/** Bounds a target that never finishes (T=0 or C=1 forever): generous next to the handful a login needs. */
const MAX_ROUNDS = 256;
const ITT = 0; // one task: the same ITT throughout the login
const EMPTY = new Uint8Array(0);

const protocol = (message: string) => new IscsiError("PROTOCOL", message);
const authFailed = (message: string) => new IscsiError("AUTH_FAILED", message);

interface Reply {
  res: LoginResponse;
  security: Map<string, string>;
}

/** The state of one login: stage, sequence numbers and the answers we owe the target. */
class Dialogue {
  stage = SECURITY;
  expStatSN = 0;
  rounds = 0;
  owed: Array<[string, string]> = [];
  readonly book: Negotiation;

  constructor(
    readonly x: LoginExchange,
    readonly p: LoginParams,
    proposal: OperationalProposal,
  ) {
    // A login with a non-zero TSIH adds a connection to a session (RFC 7143 §6.3): session-wide keys stay as
    // the leading login negotiated them.
    this.book = new Negotiation(p.sessionType, proposal, p.tsih === 0);
  }

  /** Sends our pairs (plus owed answers) asking to move to `nsg` if given; returns the complete reply. */
  async send(pairs: Array<[string, string]>, nsg?: number): Promise<Reply> {
    const text = encodeTextKeys([...this.owed.splice(0), ...pairs]);
    let offset = 0;
    // Our own text over 8192 bytes goes in C=1 pieces, each answered by an empty response.
    for (; text.length - offset > LOGIN_PDU_DATA; offset += LOGIN_PDU_DATA) {
      const { pdu, data } = await this.round(text.subarray(offset, offset + LOGIN_PDU_DATA), false, true, 0);
      if (pdu.transit || pdu.continue || data.length > 0)
        throw protocol("target answered our continued request with a non-empty response");
    }
    let { pdu, data } = await this.round(text.subarray(offset), nsg !== undefined, false, nsg ?? 0);
    const incoming = new TextAccumulator(LOGIN_TEXT_CAP, "login response text");
    incoming.append(data);
    // The target's C bit: its text goes on; an empty request with the same stage and T pulls the rest.
    while (pdu.continue) {
      ({ pdu, data } = await this.round(EMPTY, nsg !== undefined, false, nsg ?? 0));
      incoming.append(data);
    }
    const { answers, security } = this.book.receive(
      incoming.finish(),
      this.stage === SECURITY ? "security" : "operational",
    );
    this.owed.push(...answers);
    return { res: pdu, security };
  }

  async round(
    data: Uint8Array,
    transit: boolean,
    more: boolean,
    nsg: number,
  ): Promise<{ pdu: LoginResponse; data: Uint8Array }> {
    if (++this.rounds > MAX_ROUNDS) throw protocol(`login did not finish within ${MAX_ROUNDS} exchanges`);
    const p = this.p;
    const request: Fields<LoginRequest> = {
      immediate: true,
      dataSegmentLength: data.length,
      transit,
      continue: more,
      csg: this.stage,
      nsg,
      versionMax: 0,
      versionMin: 0,
      isid: p.isid,
      tsih: p.tsih,
      itt: ITT,
      cid: p.cid,
      cmdSN: p.initialCmdSN,
      expStatSN: this.expStatSN,
    };
    const reply = await this.x.exchange(request, data);
    this.check(request, reply.pdu, reply.data);
    this.expStatSN = (reply.pdu.statSN + 1) >>> 0;
    return reply;
  }

  /** RFC 7143 §11.13 and §6.3: every field of every Login Response that could lead us astray. */
  check(req: Fields<LoginRequest>, res: LoginResponse, data: Uint8Array): void {
    const opcode: number = res.opcode;
    if (opcode !== Opcode.LoginResponse)
      throw protocol(`expected a Login Response, got opcode 0x${opcode.toString(16)}`);
    if (res.statusClass !== 0) throw statusError(res.statusClass, res.statusDetail, data);
    if (data.length > LOGIN_PDU_DATA)
      throw protocol(`Login Response data segment of ${data.length} bytes exceeds ${LOGIN_PDU_DATA}`);
    if (res.versionActive !== 0) throw protocol(`Version-active is ${res.versionActive}, not 0`);
    if (res.isid !== req.isid)
      throw protocol(`ISID 0x${res.isid.toString(16)} does not echo ours 0x${req.isid.toString(16)}`);
    if (res.itt !== ITT)
      throw protocol(`Initiator Task Tag 0x${res.itt.toString(16)} is not ours (0x${ITT.toString(16)})`);
    if (res.csg !== req.csg) throw protocol(`CSG ${res.csg} does not match our stage ${req.csg}`);
    if (res.transit && !req.transit) throw protocol("target set T although we did not");
    if (res.transit && res.continue) throw protocol("target set both T and C");
    // T=1 must move forward, to a stage we asked for or an earlier one, never the reserved stage 2.
    if (res.transit && (res.nsg <= res.csg || res.nsg === 2 || res.nsg > req.nsg)) {
      throw protocol(`T=1 with NSG ${res.nsg} from CSG ${res.csg} (we asked for ${req.nsg})`);
    }
    const final = res.transit && res.nsg === FULL_FEATURE;
    if (!final && res.tsih !== req.tsih) throw protocol(`TSIH changed mid-login from ${req.tsih} to ${res.tsih}`);
    if (final && req.tsih !== 0 && res.tsih !== req.tsih)
      throw protocol(`TSIH ${res.tsih} in the final response is not our ${req.tsih}`);
    // §11.13.4: a new session gets its non-zero TSIH in the final response.
    if (final && req.tsih === 0 && res.tsih === 0 && this.p.sessionType === "Normal")
      throw protocol("final response for a new session has TSIH 0");
  }

  /** Prefixes our errors with the target and stage; peer text errors become PROTOCOL errors. */
  withContext(err: unknown): unknown {
    const where = `login to ${this.p.targetName ?? "discovery session"} in ${STAGE_NAMES[this.stage]}`;
    if (err instanceof TextFormatError) return new IscsiError("PROTOCOL", `${where}: ${err.message}`, { cause: err });
    if (err instanceof IscsiError) err.message = `${where}: ${err.message}`;
    return err;
  }
}

function required(security: Map<string, string>, key: string): string {
  const value = security.get(key);
  if (value === undefined) throw protocol(`target did not send ${key}`);
  return value;
}

function onlyKeys(security: Map<string, string>, allowed: string[]): void {
  for (const key of security.keys()) {
    if (!allowed.includes(key)) throw protocol(`target sent ${key} out of turn`);
  }
}

/** The security stage: AuthMethod is only ever what is configured (no downgrade), then CHAP if it is CHAP. */
async function securityStage(d: Dialogue): Promise<{ authMethod: "None" | "CHAP"; chapAlgorithm?: number }> {
  const p = d.p;
  const method = p.auth.method;
  const leading: Array<[string, string]> = [["InitiatorName", p.initiatorName]];
  if (p.initiatorAlias !== undefined) leading.push(["InitiatorAlias", p.initiatorAlias]);
  leading.push(["SessionType", p.sessionType]);
  if (p.targetName !== undefined) leading.push(["TargetName", p.targetName]);
  leading.push(["AuthMethod", method]);
  // With None we may leave the stage at once; with CHAP the exchange has to happen first (T=0).
  let r = await d.send(leading, method === "None" ? OPERATIONAL : undefined);
  const chosen = r.security.get("AuthMethod");
  if (chosen !== method) {
    const what = chosen === undefined ? "did not answer AuthMethod" : `answered AuthMethod=${show(chosen)}`;
    throw authFailed(`we offered only AuthMethod=${method} and the target ${what}`);
  }
  onlyKeys(r.security, ["AuthMethod"]);
  if (p.auth.method === "CHAP") return chap(d, p.auth);
  while (!r.res.transit) {
    r = await d.send([], OPERATIONAL);
    onlyKeys(r.security, []);
  }
  return { authMethod: "None" };
}

/** CHAP, RFC 7143 §12.1.3: CHAP_A offer, the target's A/I/C, our N/R (+ I/C if mutual), its N/R. */
async function chap(d: Dialogue, auth: ChapParams): Promise<{ authMethod: "CHAP"; chapAlgorithm: number }> {
  const offered = auth.algorithms ?? DEFAULT_CHAP_ALGORITHMS;
  const list = offered.join(",");
  const retryWithMd5Only = offered.length > 1 && offered.includes(5);
  let r: Reply;
  try {
    r = await d.send([["CHAP_A", list]]);
  } catch (err) {
    // QUIRK(tgt 1.0.85): a list without an algorithm it knows gets "initiator error" (0x0200), not CHAP_A=Reject.
    if (!(err instanceof LoginRejected) || err.statusClass !== 2 || err.statusDetail > 1) throw err;
    throw new ChapAlgorithmRejected(`target failed the login on our CHAP_A=${list}`, retryWithMd5Only, { cause: err });
  }
  const a = required(r.security, "CHAP_A");
  if (a === "Reject") throw new ChapAlgorithmRejected(`target rejected our CHAP_A=${list}`, retryWithMd5Only);
  if (a.includes(",")) throw protocol(`target answered CHAP_A with a list ${show(a)}`);
  const algorithm = parseNumber(a, "CHAP_A", 0, 255);
  if (!offered.includes(algorithm))
    throw protocol(`target chose CHAP_A=${algorithm}, which we did not offer (${list})`);
  const identifier = parseNumber(required(r.security, "CHAP_I"), "CHAP_I", 0, 255);
  const challenge = decodeBinary(required(r.security, "CHAP_C"), "CHAP_C");
  onlyKeys(r.security, ["CHAP_A", "CHAP_I", "CHAP_C"]);

  const ours: Array<[string, string]> = [
    ["CHAP_N", auth.username],
    ["CHAP_R", encodeHex(chapResponse(algorithm, identifier, auth.secret, challenge))],
  ];
  const mine = auth.mutual ? newChallenge(algorithm, d.p.random) : undefined;
  if (mine) {
    // RFC 7143 §9.2.1: a challenge that comes back at us is a reflection attack.
    if (sameBytes(mine.challenge, challenge)) throw authFailed("target's CHAP_C equals our own challenge (reflection)");
    ours.push(["CHAP_I", String(mine.identifier)], ["CHAP_C", encodeHex(mine.challenge)]);
  }
  try {
    r = await d.send(ours, OPERATIONAL);
  } catch (err) {
    // QUIRK(tgt 1.0.85): it picks CHAP_A=7 but computes SHA-1 (IANA 6) for it, so our correct SHA-256 answer
    // fails. A refusal of our response to a stronger hash gets one more try with MD5 (the caller reconnects).
    if (err instanceof LoginRejected && err.statusClass === 2 && algorithm !== 5 && retryWithMd5Only) {
      throw new ChapAlgorithmRejected(`target refused our CHAP_A=${algorithm} response`, true, { cause: err });
    }
    throw err;
  }
  let targetVerified = false;
  for (;;) {
    if (mine && (r.security.has("CHAP_N") || r.security.has("CHAP_R"))) {
      verifyTarget(auth, algorithm, mine, r.security);
      targetVerified = true;
    }
    onlyKeys(r.security, mine ? ["CHAP_N", "CHAP_R"] : []);
    if (r.res.transit) break;
    r = await d.send([], OPERATIONAL);
  }
  if (mine && !targetVerified)
    throw authFailed("target left the security stage without answering our challenge (no CHAP_N/CHAP_R)");
  return { authMethod: "CHAP", chapAlgorithm: algorithm };
}

/** Mutual CHAP: name, then length, then the identical-secret check, then a constant-time comparison. */
function verifyTarget(
  auth: ChapParams,
  algorithm: number,
  mine: { identifier: number; challenge: Uint8Array },
  security: Map<string, string>,
): void {
  const mutual = auth.mutual as NonNullable<ChapParams["mutual"]>;
  const name = required(security, "CHAP_N");
  if (name !== mutual.username)
    throw authFailed(`target authenticated as CHAP_N=${show(name)}, expected ${show(mutual.username)}`);
  const response = decodeBinary(required(security, "CHAP_R"), "CHAP_R");
  const alg = chapAlgorithm(algorithm);
  if (response.length !== alg.size)
    throw authFailed(`target's CHAP_R is ${response.length} bytes; ${alg.name} gives ${alg.size}`);
  if (sameBytes(response, chapResponse(algorithm, mine.identifier, auth.secret, mine.challenge))) {
    throw authFailed("target's CHAP_R was made with our own secret: initiator and target secrets are identical");
  }
  if (!sameBytes(response, chapResponse(algorithm, mine.identifier, mutual.secret, mine.challenge))) {
    throw authFailed("target failed mutual CHAP: wrong CHAP_R");
  }
}

/** Logs in and returns the negotiated record; the caller owns the connection, timeouts and retry policy. */
export async function login(x: LoginExchange, p: LoginParams): Promise<Negotiated> {
  const d = new Dialogue(x, p, checkParams(p));
  try {
    const auth = await securityStage(d);
    d.stage = OPERATIONAL;
    let r = await d.send(d.book.offers(), FULL_FEATURE);
    while (!r.res.transit) r = await d.send([], FULL_FEATURE);
    if (d.owed.length > 0) {
      throw protocol(
        `target proposed ${d.owed.map(([k]) => k).join(", ")} in its final response, leaving us no turn to answer`,
      );
    }
    const final = r.res;
    return Object.freeze({
      ...d.book.finish(),
      sessionType: p.sessionType,
      tsih: final.tsih,
      ...auth,
      cmdSN: p.initialCmdSN,
      expStatSN: d.expStatSN,
      expCmdSN: final.expCmdSN,
      maxCmdSN: final.maxCmdSN,
    });
  } catch (err) {
    throw d.withContext(err);
  }
}
