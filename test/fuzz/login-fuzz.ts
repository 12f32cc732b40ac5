// Login fuzzer: the honest scripted login target (test/login/fake-target.ts) behind a layer that bends its
// responses: header fields set to edge values, key=value pairs dropped, repeated, replaced by hostile values
// or keys, text bytes flipped or cut, BHS bits flipped (docs/reliability.md, cases 17–41).
// What must hold: login settles; a failure is an IscsiError with a catalogue code; a success never downgrades
// the configured authentication, never accepts an altered mutual-CHAP answer, and yields a record inside the
// RFC 7143 §13 ranges and within what we offered.
import { IscsiError } from "../../src/contract/errors.ts";
import { login, type LoginExchange, type LoginParams, type Negotiated } from "../../src/login/login.ts";
import type { OperationalProposal } from "../../src/login/keys.ts";
import { decodeLoginResponse, encodeLoginResponse, type LoginResponse } from "../../src/pdu/index.ts";
import { decodeBinary, parseTextKeys } from "../../src/pdu/text.ts";
import { FakeTarget, type TargetConfig } from "../login/fake-target.ts";
import { within } from "../fault/outcome.ts";
import { Rng } from "./prng.ts";
import { checkError, type Finding } from "./session-fuzz.ts";

export interface LoginReport {
  outcome: string; // "ok" or the error code
  findings: Finding[];
  log: string[];
}

const enc = new TextEncoder();
const SECRET = enc.encode("initiator-secret-0123");
const TARGET_SECRET = enc.encode("target-secret-456789");
const KEYS = [
  "HeaderDigest",
  "DataDigest",
  "MaxConnections",
  "InitialR2T",
  "ImmediateData",
  "MaxRecvDataSegmentLength",
  "MaxBurstLength",
  "FirstBurstLength",
  "DefaultTime2Wait",
  "DefaultTime2Retain",
  "MaxOutstandingR2T",
  "DataPDUInOrder",
  "DataSequenceInOrder",
  "ErrorRecoveryLevel",
  "SessionType",
  "TargetName",
  "InitiatorName",
  "TargetAlias",
  "TargetAddress",
  "TargetPortalGroupTag",
  "AuthMethod",
  "CHAP_A",
  "CHAP_I",
  "CHAP_C",
  "CHAP_N",
  "CHAP_R",
  "TaskReporting",
  "iSCSIProtocolLevel",
  "OFMarker",
  "IFMarkInt",
  "X-vendor.key",
  "X#iana",
  "Z-auth",
  "__proto__",
  "constructor",
  "toString",
  "lowercase",
  "K".repeat(64),
  "Bad Key",
  "",
];
const VALUES = [
  "",
  "0",
  "1",
  "-1",
  "+5",
  " 5",
  "5 ",
  "1e3",
  "0x",
  "0b",
  "0x10",
  "0X1f",
  "0b+/=",
  "512",
  "511",
  "8192",
  "65536",
  "262144",
  "16777215",
  "16777216",
  "4294967296",
  "18446744073709551616",
  "3600",
  "3601",
  "65535",
  "Yes",
  "No",
  "yes",
  "YES",
  "Maybe",
  "None",
  "Reject",
  "Irrelevant",
  "NotUnderstood",
  "CRC32C",
  "CRC32C,None",
  "None,CRC32C",
  "CHAP",
  "CHAP,None",
  "5",
  "7",
  "8",
  "9",
  "5,7",
  "0~5",
  "255",
  "256",
  "0x" + "ab".repeat(16),
  "0x" + "ab".repeat(1025),
  "0b" + "q".repeat(24),
  "0xabc",
  "0xzz",
  "a".repeat(256),
  "ÿþ",
  "\u0001",
  "127.0.0.1:3260,1",
  "[::1",
  "host:99999,x",
  "RFC3720",
  "FastAbort",
  "2",
];

/** key=value NUL-terminated, with no checks at all (encodeTextKeys refuses what a hostile target may send). */
function rawText(pairs: Array<[string, string]>): Uint8Array {
  return enc.encode(pairs.map(([k, v]) => `${k}=${v}\0`).join(""));
}

function bendText(rng: Rng, data: Uint8Array, note: (s: string) => void): Uint8Array {
  let pairs: Array<[string, string]>;
  try {
    pairs = parseTextKeys(data);
  } catch {
    pairs = [];
  }
  switch (rng.int(7)) {
    case 0:
      if (pairs.length > 0) note(`drop ${pairs.splice(rng.int(pairs.length), 1)[0]![0]}`);
      break;
    case 1:
      if (pairs.length > 0) {
        const pair = rng.pick(pairs);
        pairs.push([pair[0], pair[1]]);
        note(`repeat ${pair[0]}`);
      }
      break;
    case 2:
      if (pairs.length > 0) {
        const pair = rng.pick(pairs);
        pair[1] = rng.pick(VALUES);
        note(`${pair[0]}=${pair[1].slice(0, 20)}`);
      }
      break;
    case 3: {
      const pair: [string, string] = [rng.pick(KEYS), rng.pick(VALUES)];
      pairs.splice(rng.int(pairs.length + 1), 0, pair);
      note(`add ${pair[0].slice(0, 20)}=${pair[1].slice(0, 20)}`);
      break;
    }
    case 4: {
      const bytes = data.length > 0 ? data.slice() : rng.bytes(8);
      for (let i = rng.range(1, 4); i > 0; i--) bytes[rng.int(bytes.length)]! ^= 1 << rng.int(8);
      note("flip text bytes");
      return bytes;
    }
    case 5:
      note("cut text");
      return data.subarray(0, rng.int(data.length + 1));
    default:
      note("junk text");
      return rng.bytes(rng.int(200));
  }
  return rawText(pairs);
}

/**
 * Which of the target's mutual-CHAP answers (CHAP_N, CHAP_R) a bent text really changed: dropped, made
 * unreadable, or given another value. A hex digit flipped to upper case or a cut after the last NUL changes
 * nothing, and a login that then succeeds is right.
 */
function mutualChanged(before: Uint8Array, after: Uint8Array): boolean {
  const read = (d: Uint8Array) => {
    try {
      return new Map(parseTextKeys(d));
    } catch {
      return undefined;
    }
  };
  const a = read(before);
  if (!a || (!a.has("CHAP_N") && !a.has("CHAP_R"))) return false;
  const b = read(after);
  if (!b) return true;
  if (a.get("CHAP_N") !== b.get("CHAP_N")) return true;
  const r1 = a.get("CHAP_R");
  const r2 = b.get("CHAP_R");
  if (r1 === undefined || r2 === undefined) return r1 !== r2;
  try {
    return Buffer.compare(decodeBinary(r1, "CHAP_R"), decodeBinary(r2, "CHAP_R")) !== 0;
  } catch {
    return true;
  }
}

function bendHeader(rng: Rng, pdu: LoginResponse, note: (s: string) => void): LoginResponse {
  if (rng.chance(0.5)) {
    const bhs = encodeLoginResponse(pdu);
    const at = rng.range(1, 47); // not byte 0: the exchange layer refuses other opcodes before login sees them
    bhs[at]! ^= 1 << rng.int(8);
    note(`bhs bit @${at}`);
    return decodeLoginResponse(bhs);
  }
  const copy = { ...pdu };
  const field = rng.pick([
    "transit",
    "continue",
    "csg",
    "nsg",
    "versionMax",
    "versionActive",
    "isid",
    "tsih",
    "itt",
    "statSN",
    "expCmdSN",
    "maxCmdSN",
    "statusClass",
    "statusDetail",
  ] as const);
  if (field === "transit" || field === "continue") copy[field] = !copy[field];
  else if (field === "csg" || field === "nsg") copy[field] = rng.int(4);
  else if (field === "isid") copy.isid = rng.int(2 ** 32) * 0x10000 + rng.int(0x10000);
  else if (field === "tsih") copy.tsih = rng.int(0x10000);
  else if (field === "statusClass" || field === "statusDetail" || field === "versionMax" || field === "versionActive")
    copy[field] = rng.chance(0.5) ? rng.int(4) : rng.int(256);
  else copy[field] = rng.interesting(copy[field]);
  note(`${field}=${String(copy[field])}`);
  return copy;
}

export async function loginEpisode(seed: number, episode: number): Promise<LoginReport> {
  const rng = Rng.episode(seed, episode);
  const report: LoginReport = { outcome: "", findings: [], log: [] };
  const find = (what: string) => report.findings.push({ episode, what: `${what} [${report.log.join("; ")}]` });
  const authKind = rng.pick(["None", "CHAP", "mutual"] as const);
  const discovery = rng.chance(0.2);
  const rate = rng.pick([0, 0.2, 0.5, 1]);
  const proposal: Partial<OperationalProposal> = {
    headerDigest: rng.pick([
      ["None"],
      ["CRC32C"],
      ["CRC32C", "None"],
      ["None", "CRC32C"],
    ] as const) as OperationalProposal["headerDigest"],
    dataDigest: rng.pick([["None"], ["CRC32C", "None"]] as const) as OperationalProposal["dataDigest"],
    initialR2T: rng.chance(0.5),
    immediateData: rng.chance(0.5),
    maxBurstLength: rng.pick([512, 65536, 262144, 16776192]),
  };
  proposal.firstBurstLength = Math.min(proposal.maxBurstLength!, rng.pick([512, 65536, 262144]));
  const config: TargetConfig = {
    auth:
      authKind === "None"
        ? { method: "None" }
        : {
            method: "CHAP",
            username: "alice",
            secret: SECRET,
            ...(authKind === "mutual" ? { mutual: { username: "target", secret: TARGET_SECRET } } : {}),
          },
    tsih: rng.range(1, 0xffff),
    statSN: rng.u32(),
    // Small pieces exercise the C bit; not so small that a 1 KiB challenge needs more than the 256-round cap.
    chunk: rng.pick([8192, 8192, 512, 64]),
    identifier: rng.int(256),
    challenge: rng.bytes(rng.pick([1, 16, 32, 1024])),
  };
  report.log.push(`auth=${authKind} discovery=${discovery} rate=${rate} chunk=${config.chunk}`);
  const honest = new FakeTarget(config);
  let mutualTouched = false;
  const exchange: LoginExchange = {
    async exchange(req, data) {
      const r = await honest.exchange(req, data);
      if (!rng.chance(rate)) return r;
      const note = (s: string) => report.log.push(s);
      if (rng.chance(0.5)) return { pdu: bendHeader(rng, r.pdu, note), data: r.data };
      const bent = bendText(rng, r.data, note);
      if (mutualChanged(r.data, bent)) mutualTouched = true;
      return { pdu: { ...r.pdu, dataSegmentLength: bent.length }, data: bent };
    },
  };
  const params: LoginParams = {
    initiatorName: "iqn.2026-11.dev.iscsi:fuzz",
    sessionType: discovery ? "Discovery" : "Normal",
    ...(discovery ? {} : { targetName: "iqn.2026-11.test:fuzz" }),
    isid: 0x800000000000 + rng.int(2 ** 32),
    tsih: 0,
    cid: 0,
    initialCmdSN: rng.u32(),
    auth:
      authKind === "None"
        ? { method: "None" }
        : {
            method: "CHAP",
            username: "alice",
            secret: SECRET,
            ...(authKind === "mutual" ? { mutual: { username: "target", secret: TARGET_SECRET } } : {}),
          },
    proposal,
    random: (n) => rng.bytes(n),
  };
  const outcome = await within(login(exchange, params), 2_000);
  if (outcome.state === "pending") {
    find("login did not settle within 2 s");
    report.outcome = "pending";
  } else if (outcome.state === "rejected") {
    report.outcome = String(outcome.error.code ?? "UNTYPED");
    if (!(outcome.error instanceof IscsiError))
      find(`login failed with a non-IscsiError: ${outcome.error?.stack ?? outcome.error}`);
    else checkError("login", outcome.error, find);
    if (rate === 0) find(`login to the honest target failed: ${outcome.error.message}`);
  } else {
    report.outcome = "ok";
    checkNegotiated(outcome.value, params, proposal, find);
    if (authKind === "mutual" && mutualTouched)
      find("login succeeded although the target's mutual CHAP answer was altered");
  }
  return report;
}

function checkNegotiated(
  n: Negotiated,
  p: LoginParams,
  offer: Partial<OperationalProposal>,
  find: (what: string) => void,
): void {
  const inRange = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) find(`${name}=${v} outside ${lo}..${hi}`);
  };
  if (n.authMethod !== p.auth.method)
    find(`authentication downgraded: configured ${p.auth.method}, logged in with ${n.authMethod}`);
  if (n.sessionType !== p.sessionType) find(`session type ${n.sessionType}, asked for ${p.sessionType}`);
  if (p.sessionType === "Normal" && n.tsih === 0) find("Normal session with TSIH 0");
  if (n.headerDigest && !offer.headerDigest!.includes("CRC32C")) find("header digest on without our offer");
  if (n.dataDigest && !offer.dataDigest!.includes("CRC32C")) find("data digest on without our offer");
  inRange("MaxXmitDataSegmentLength", n.maxXmitDataSegmentLength, 512, 0xffffff);
  if (p.sessionType === "Discovery") return;
  inRange("MaxBurstLength", n.maxBurstLength, 512, offer.maxBurstLength!);
  inRange("FirstBurstLength", n.firstBurstLength, 512, Math.min(offer.firstBurstLength!, n.maxBurstLength));
  inRange("MaxOutstandingR2T", n.maxOutstandingR2T, 1, 1);
  inRange("ErrorRecoveryLevel", n.errorRecoveryLevel, 0, 0);
  inRange("MaxConnections", n.maxConnections, 1, 1);
  inRange("DefaultTime2Wait", n.defaultTime2Wait, 0, 3600);
  inRange("DefaultTime2Retain", n.defaultTime2Retain, 0, 3600);
  if (offer.initialR2T && !n.initialR2T) find("InitialR2T=No although we offered Yes (OR)");
  if (!offer.immediateData && n.immediateData) find("ImmediateData=Yes although we offered No (AND)");
}
