// A scripted in-memory iSCSI target for login tests: plays RFC 7143 §6.3/§12.1.3 honestly by default, and
// lets a test bend any response (fields or key=value pairs) through `tamper`.

import { expect } from "bun:test";
import { IscsiError } from "../../src/contract/errors.ts";
import type { LoginExchange } from "../../src/login/login.ts";
import { chapResponse } from "../../src/login/chap.ts";
import { decodeBinary, encodeHex, encodeTextKeys, parseNumber, parseTextKeys } from "../../src/pdu/text.ts";
import { Opcode, type Fields, type LoginRequest, type LoginResponse } from "../../src/pdu/types.ts";

export type Pairs = Array<[string, string]>;

export interface TargetConfig {
  auth?:
    | { method: "None" }
    | {
        method: "CHAP";
        username: string;
        secret: Uint8Array;
        algorithm?: number;
        mutual?: { username: string; secret: Uint8Array };
      };
  tsih?: number; // handed out in the final response (default 0x1234)
  statSN?: number; // first StatSN (default 100)
  identifier?: number; // our CHAP_I (default 0x42)
  challenge?: Uint8Array; // our CHAP_C (default 16 bytes 0x10..0x1f)
  /** Operational answers/declarations to send instead of the agreeable defaults; undefined omits the key. */
  answers?: Record<string, string | undefined>;
  /** Split our text into PDUs of at most this many bytes, with the C bit (RFC 7143 §6.1). */
  chunk?: number;
  /** Never stop: 8192-byte pieces with C=1 forever. */
  endless?: boolean;
  /** Last word on each main response (not on continuation pieces): change fields or pairs. */
  tamper?: (r: { step: number; req: Fields<LoginRequest>; reqPairs: Pairs; res: LoginResponse; pairs: Pairs }) => void;
}

export const ascii = (s: string) => new TextEncoder().encode(s);

/** The response our honest target gives an operational key we offered. */
function agreeableAnswer(key: string, offer: string): string | undefined {
  switch (key) {
    case "HeaderDigest":
    case "DataDigest":
      return offer.split(",")[0];
    case "MaxRecvDataSegmentLength":
      return undefined; // declarative: the target declares its own below
    case "MaxBurstLength":
      return String(Math.min(Number(offer), 262144));
    case "FirstBurstLength":
      return String(Math.min(Number(offer), 65536));
    default:
      return offer;
  }
}

export class FakeTarget implements LoginExchange {
  /** Every Login Request PDU received, with its own data segment parsed when complete on its own. */
  readonly requests: Array<{ pdu: Fields<LoginRequest>; data: Uint8Array }> = [];
  step = 0;
  #statSN: number;
  #incoming: Uint8Array[] = [];
  #outgoing: Uint8Array[] = [];
  #last: LoginResponse | undefined;
  chosenAlgorithm = 5;
  /** Keys we have sent: the initiator's pairs with these names are answers, not offers. */
  #sent = new Set<string>();

  constructor(readonly config: TargetConfig = {}) {
    this.#statSN = config.statSN ?? 100;
  }

  /** Key=value pairs of every complete request, in order. */
  get sentPairs(): Pairs[] {
    return this.requests.filter((r) => !r.pdu.continue && r.data.length > 0).map((r) => parseTextKeys(r.data));
  }

  async exchange(req: Fields<LoginRequest>, data: Uint8Array): Promise<{ pdu: LoginResponse; data: Uint8Array }> {
    this.requests.push({ pdu: { ...req }, data: data.slice() });
    if (this.#outgoing.length > 0) return this.#piece(req);
    this.#incoming.push(data.slice());
    if (req.continue)
      return {
        pdu: { ...this.#response(req, { transit: false, nsg: 0 }), statSN: this.#statSN++ },
        data: new Uint8Array(0),
      };
    const all = Buffer.concat(this.#incoming);
    this.#incoming = [];
    const reqPairs = parseTextKeys(all);
    const res = this.#response(req, { transit: req.transit, nsg: req.transit ? req.nsg : 0 });
    const pairs = req.csg === 0 ? this.#security(reqPairs, res) : this.#operational(reqPairs);
    if (res.transit && res.nsg === 3) res.tsih = this.config.tsih ?? 0x1234;
    this.config.tamper?.({ step: this.step, req, reqPairs, res, pairs });
    this.step++;
    for (const [key] of pairs) this.#sent.add(key);
    const text = encodeTextKeys(pairs);
    const chunk = this.config.chunk ?? 8192;
    for (let at = 0; at < text.length; at += chunk) this.#outgoing.push(text.subarray(at, at + chunk));
    this.#last = res;
    return this.#piece(req);
  }

  /** The next piece of our text: C=1 and T=0 until the last, which carries the real flags. */
  #piece(req: Fields<LoginRequest>): { pdu: LoginResponse; data: Uint8Array } {
    const last = this.#last as LoginResponse;
    const data = this.config.endless ? new Uint8Array(8192).fill(0x41) : (this.#outgoing.shift() ?? new Uint8Array(0));
    const more = this.#outgoing.length > 0 || !!this.config.endless;
    const pdu: LoginResponse = {
      ...last,
      statSN: this.#statSN++,
      continue: more || last.continue,
      transit: more ? false : last.transit,
      dataSegmentLength: data.length,
    };
    if (more) {
      pdu.nsg = 0;
      pdu.tsih = req.tsih; // only the final response carries a new TSIH
    }
    pdu.expCmdSN = req.cmdSN;
    return { pdu, data };
  }

  #response(req: Fields<LoginRequest>, flags: { transit: boolean; nsg: number }): LoginResponse {
    return {
      opcode: Opcode.LoginResponse,
      immediate: false,
      totalAHSLength: 0,
      dataSegmentLength: 0,
      transit: flags.transit,
      continue: false,
      csg: req.csg,
      nsg: flags.nsg,
      versionMax: 0,
      versionActive: 0,
      isid: req.isid,
      tsih: req.tsih,
      itt: req.itt,
      statSN: 0, // set per PDU sent
      expCmdSN: req.cmdSN,
      maxCmdSN: (req.cmdSN + 32) >>> 0,
      statusClass: 0,
      statusDetail: 0,
    };
  }

  #security(reqPairs: Pairs, res: LoginResponse): Pairs {
    const get = new Map(reqPairs);
    const auth = this.config.auth ?? { method: "None" };
    const out: Pairs = [];
    const offered = get.get("AuthMethod");
    if (offered !== undefined)
      out.push(["AuthMethod", offered.split(",").includes(auth.method) ? auth.method : "Reject"]);
    if (auth.method !== "CHAP") return out;
    const algorithms = get.get("CHAP_A");
    if (algorithms !== undefined) {
      const chosen =
        auth.algorithm ??
        algorithms
          .split(",")
          .map(Number)
          .find((a) => a >= 5 && a <= 8) ??
        5;
      const challenge = this.config.challenge ?? Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);
      out.push(
        ["CHAP_A", String(chosen)],
        ["CHAP_I", String(this.config.identifier ?? 0x42)],
        ["CHAP_C", encodeHex(challenge)],
      );
      this.chosenAlgorithm = chosen;
    }
    const name = get.get("CHAP_N");
    const response = get.get("CHAP_R");
    if (name !== undefined && response !== undefined) {
      const challenge = this.config.challenge ?? Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);
      const expected = chapResponse(this.chosenAlgorithm, this.config.identifier ?? 0x42, auth.secret, challenge);
      if (name !== auth.username || Buffer.compare(decodeBinary(response, "CHAP_R"), expected) !== 0) {
        res.statusClass = 2;
        res.statusDetail = 1;
        res.transit = false;
        return [];
      }
      const theirI = get.get("CHAP_I");
      const theirC = get.get("CHAP_C");
      if (auth.mutual && theirI !== undefined && theirC !== undefined) {
        const r = chapResponse(
          this.chosenAlgorithm,
          parseNumber(theirI, "CHAP_I", 0, 255),
          auth.mutual.secret,
          decodeBinary(theirC, "CHAP_C"),
        );
        out.push(["CHAP_N", auth.mutual.username], ["CHAP_R", encodeHex(r)]);
      }
    }
    return out;
  }

  #operational(reqPairs: Pairs): Pairs {
    const overrides = this.config.answers ?? {};
    const out: Pairs = [];
    for (const [key, offer] of reqPairs) {
      if (this.#sent.has(key)) continue;
      const answer = key in overrides ? overrides[key] : agreeableAnswer(key, offer);
      if (answer !== undefined) out.push([key, answer]);
    }
    if (reqPairs.some(([k]) => k === "MaxRecvDataSegmentLength") && !("MaxRecvDataSegmentLength" in overrides)) {
      out.push(["MaxRecvDataSegmentLength", "65536"]);
    }
    for (const [key, value] of Object.entries(overrides)) {
      if (value !== undefined && !reqPairs.some(([k]) => k === key)) out.push([key, value]);
    }
    return out;
  }
}

/** The error a promise rejects with, asserted to be an IscsiError of `code` whose message matches. */
export async function rejection(promise: Promise<unknown>, code: string, message: RegExp): Promise<IscsiError> {
  const err = await promise.then(
    () => new Error("login succeeded but should have failed"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IscsiError);
  expect((err as IscsiError).message).toMatch(message);
  expect((err as IscsiError).code).toBe(code as IscsiError["code"]);
  return err as IscsiError;
}
