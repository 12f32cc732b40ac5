// One target under `iscsi doctor`: a real login (offering CRC32C digests, RFC 7143 §13.1) with the credentials
// the daemon would use, the negotiated keys, LUNs read over those digests, NOP-Out answers and NOP-In pings
// (§11.18, §11.19), and the CHAP algorithms the target accepts (§12.1.3).
import type { NodeSettings } from "../config/node-settings.ts";
import type { LunInfo } from "../contract/views.ts";
import { scanLuns, type EngineAuth, type EngineProposal } from "../daemon/engine.ts";
import { errorCodeOf } from "../contract/errors.ts";
import { LoginRejected, type Negotiated } from "../login/login.ts";
import { Session } from "../session/session.ts";
import { formatPortal, type Portal } from "../transport/portal.ts";
import { algorithmName, probeChap, type ChapProbeResult } from "./chap-probe.ts";
import { explainLogin } from "./explain.ts";
import { Findings } from "./finding.ts";

export interface TargetProbeOptions {
  portal: Portal;
  target: string;
  initiatorName: string;
  auth: EngineAuth;
  /** Where `auth` came from, for the report ("node record", "--chap-user", "none"). */
  authSource: string;
  /** The node record's settings and proposal when there is one. */
  settings?: NodeSettings;
  proposal?: Partial<EngineProposal>;
  timeoutMs: number;
  /** How long to listen for NOP-In pings from the target. */
  nopWaitMs: number;
}

const DIGESTS_OFFERED = { headerDigest: ["CRC32C", "None"], dataDigest: ["CRC32C", "None"] } as const;
const ms = (n: number) => `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`;

function storeHint(o: TargetProbeOptions): string {
  const p = formatPortal(o.portal);
  if (o.authSource === "--chap-user" || o.authSource === "the environment")
    return "give them with --chap-user and --chap-secret-file (or $ISCSI_CHAP_USER and $ISCSI_CHAP_SECRET)";
  return `set them with \`iscsi -m node -T ${o.target} -p ${p} -o update -n node.session.auth.authmethod -v CHAP\`, \`… -n node.session.auth.username -v USER\`, then \`iscsi secret set -T ${o.target} -p ${p} --file SECRET_FILE\``;
}

async function open(o: TargetProbeOptions, digests: boolean): Promise<Session> {
  return Session.open({
    portal: o.portal,
    // A fresh ISID, never the node's: reusing it would reinstate (end) a session the daemon holds (RFC 7143 §6.3.5).
    login: {
      initiatorName: o.initiatorName,
      targetName: o.target,
      sessionType: "Normal",
      auth: o.auth,
      proposal: { ...o.proposal, ...(digests ? DIGESTS_OFFERED : {}) },
    },
    connectTimeoutMs: o.timeoutMs,
    loginTimeoutMs: o.timeoutMs,
    // Our own keepalive would muddle the NOP findings; a lost connection fails the probe instead of recovering.
    recovery: { enabled: false, nopIntervalMs: 0 },
  });
}

function negotiatedSummary(n: Negotiated): string {
  const auth = n.authMethod === "CHAP" ? `CHAP (${algorithmName(n.chapAlgorithm ?? 5)})` : "None";
  return [
    `AuthMethod ${auth}`,
    `MaxRecvDataSegmentLength ours ${n.maxRecvDataSegmentLength} / target's ${n.maxXmitDataSegmentLength}`,
    `MaxBurstLength ${n.maxBurstLength}`,
    `FirstBurstLength ${n.firstBurstLength}`,
    `ImmediateData ${n.immediateData ? "Yes" : "No"}`,
    `InitialR2T ${n.initialR2T ? "Yes" : "No"}`,
    `MaxOutstandingR2T ${n.maxOutstandingR2T}`,
    `ErrorRecoveryLevel ${n.errorRecoveryLevel}`,
    `DefaultTime2Wait ${n.defaultTime2Wait}`,
    `DefaultTime2Retain ${n.defaultTime2Retain}`,
  ].join(", ");
}

function chapFinding(f: Findings, o: TargetProbeOptions, chap: ChapProbeResult): void {
  const answers = [...chap.answers];
  const noChap = answers.find(([, a]) => a.kind === "no-chap");
  if (noChap) {
    const answer = noChap[1].kind === "no-chap" ? noChap[1].answer : "";
    if (o.auth.method === "CHAP")
      f.warn(
        "target.chap",
        `the target does not use CHAP for this target (AuthMethod=${answer}), but we are set to CHAP`,
        "set node.session.auth.authmethod to None for this node",
      );
    else
      f.ok(
        "target.chap",
        `the target does not use CHAP for this target (it answered AuthMethod=${answer} to an offer of CHAP)`,
      );
    return;
  }
  const accepted = answers.filter(([, a]) => a.kind === "accepted").map(([n]) => n);
  const refused = answers.filter(([, a]) => a.kind === "refused").map(([n]) => n);
  const errors = answers
    .filter(([, a]) => a.kind === "error")
    .map(([n, a]) => `${algorithmName(n)}: ${a.kind === "error" ? a.message : ""}`);
  const names = (list: number[]) => list.map(algorithmName).join(", ") || "none";
  const data = {
    accepted: accepted.map(algorithmName),
    refused: refused.map(algorithmName),
    errors,
    verified: Object.fromEntries([...chap.verified].map(([a, v]) => [algorithmName(a), v.ok ? "works" : v.message])),
  };
  let summary = `the target accepts CHAP_A ${names(accepted)}; refuses ${names(refused)}`;
  if (errors.length > 0) summary += `; no answer for ${errors.join("; ")}`;
  if (accepted.length === 0) {
    f.warn(
      "target.chap",
      summary,
      "the target accepts none of MD5, SHA-1, SHA-256, SHA3-256 alone: check its CHAP configuration",
      data,
    );
    return;
  }
  const works = accepted.filter((a) => chap.verified.get(a)?.ok === true);
  const broken = accepted.filter((a) => chap.verified.get(a)?.ok === false);
  if (chap.verified.size === 0) {
    f.ok("target.chap", `${summary} (with no CHAP secret at hand, which of them log in was not tried)`, data);
  } else if (works.length > 0 && broken.length > 0) {
    f.warn(
      "target.chap",
      `${summary}; with our secret ${names(works)} log in but ${names(broken)} fails: the target offers ${names(broken)} but computes it wrongly (tgt 1.0.x computes SHA-256 as SHA-1)`,
      `our login falls back to MD5 by itself; to skip the failed first attempt: \`iscsi -m node -T ${o.target} -p ${formatPortal(o.portal)} -o update -n node.session.auth.chap_algs -v ${works.map((a) => algorithmName(a).replace("-", "")).join(",")}\``,
      data,
    );
  } else if (works.length > 0) {
    f.ok("target.chap", `${summary}; with our secret ${names(works)} log in`, data);
  } else {
    // The login finding already failed for this; a second failure would only repeat it.
    f.warn(
      "target.chap",
      `${summary}; none of them logs in with our credentials (the login finding says why)`,
      "correct the credentials as the login finding says",
      data,
    );
  }
}

async function loggedIn(
  f: Findings,
  o: TargetProbeOptions,
  s: Session,
  elapsed: number,
  digestsOffered: boolean,
): Promise<void> {
  const n = s.negotiated;
  const redirected =
    s.portal.host !== o.portal.host || s.portal.port !== o.portal.port
      ? ` (redirected to ${formatPortal(s.portal)})`
      : "";
  f.ok("target.login", `logged in as ${o.initiatorName} in ${ms(elapsed)}${redirected}: ${negotiatedSummary(n)}`, {
    negotiated: { ...n },
    authSource: o.authSource,
    portal: s.portal,
  });
  let luns: LunInfo[] | undefined;
  try {
    luns = await scanLuns(s);
  } catch (err) {
    const digestTrouble = errorCodeOf(err) === "DIGEST";
    f.fail(
      "target.luns",
      `REPORT LUNS failed${n.headerDigest || n.dataDigest ? " with digests on" : ""}: ${(err as Error).message}`,
      digestTrouble
        ? "the target's CRC32C digests do not match: set node.conn[0].iscsi.HeaderDigest and DataDigest to None"
        : "check the target's LUN mapping for this initiator",
      digestTrouble ? "DIGEST" : errorCodeOf(err),
    );
  }
  if (digestsOffered) digestFinding(f, o, n, luns !== undefined);
  if (luns) {
    const disks = luns.filter((l) => l.bytes !== undefined);
    const list = luns
      .map(
        (l) =>
          `LUN ${l.lun} ${l.deviceType}${l.bytes ? ` ${(Number(l.bytes) / 2 ** 20).toFixed(1)} MiB` : ""}${l.error ? ` (${l.error})` : ""}`,
      )
      .join("; ");
    if (disks.length === 0)
      f.warn(
        "target.luns",
        `no disk LUNs visible to ${o.initiatorName}: ${list || "REPORT LUNS listed none"}`,
        "map a LUN to this target (and this initiator) on the target",
        { luns },
      );
    else f.ok("target.luns", list, { luns });
  }
  await nopFindings(f, o, s);
}

function digestFinding(f: Findings, o: TargetProbeOptions, n: Negotiated, commandsRan: boolean): void {
  const wanted = [o.settings?.["node.conn[0].iscsi.HeaderDigest"], o.settings?.["node.conn[0].iscsi.DataDigest"]];
  const ran = commandsRan ? " (REPORT LUNS and INQUIRY ran with them on)" : "";
  if (n.headerDigest && n.dataDigest) {
    f.ok("target.digests", `the target accepts CRC32C header and data digests${ran}`, {
      headerDigest: "CRC32C",
      dataDigest: "CRC32C",
    });
    return;
  }
  const missing = [n.headerDigest ? "" : "header", n.dataDigest ? "" : "data"].filter(Boolean).join(" and ");
  const data = { headerDigest: n.headerDigest ? "CRC32C" : "None", dataDigest: n.dataDigest ? "CRC32C" : "None" };
  if (wanted.includes("CRC32C")) {
    f.fail(
      "target.digests",
      `the target refuses CRC32C ${missing} digests (it chose None), and this node requires CRC32C: the daemon's login will fail`,
      `allow digests on the target, or set node.conn[0].iscsi.HeaderDigest and DataDigest to None (or CRC32C,None)`,
      "LOGIN",
      data,
    );
  } else {
    f.ok(
      "target.digests",
      `the target does not do CRC32C ${missing} digests (it chose None when offered CRC32C,None); keep the node's digest settings at None`,
      data,
    );
  }
}

async function nopFindings(f: Findings, o: TargetProbeOptions, s: Session): Promise<void> {
  try {
    const rtt = await s.requests.ping(o.timeoutMs);
    f.ok("target.nop-out", `answers NOP-Out pings (round trip ${ms(rtt)})`, { roundTripMs: rtt });
  } catch (err) {
    f.fail(
      "target.nop-out",
      `no answer to a NOP-Out ping: ${(err as Error).message}`,
      "our keepalive pings after 5 s of silence and drops a connection that stays silent 5 s more; this target would be dropped while idle. Report it to the target's vendor",
      "PDU_TIMEOUT",
    );
  }
  if (o.nopWaitMs <= 0) return;
  const before = s.stats.nopInAnswered;
  await Bun.sleep(o.nopWaitMs);
  const pings = s.stats.nopInAnswered - before;
  const seconds = (o.nopWaitMs / 1000).toFixed(o.nopWaitMs % 1000 === 0 ? 0 : 1);
  if (pings > 0)
    f.ok("target.nop-in", `the target sends NOP-In pings: ${pings} in ${seconds} s, each answered`, {
      nopIn: pings,
      waitedMs: o.nopWaitMs,
    });
  else
    f.ok(
      "target.nop-in",
      `the target sent no NOP-In ping in ${seconds} s (many targets ping rarely or never; our own pings keep the link checked)`,
      { nopIn: 0, waitedMs: o.nopWaitMs },
    );
}

/** Login first; the CHAP probe follows unless the login failed for a reason CHAP cannot explain. */
export async function probeTarget(o: TargetProbeOptions): Promise<Findings> {
  const f = new Findings(`target ${o.target}`);
  if (o.auth.method === "CHAP")
    f.ok(
      "target.credentials",
      `CHAP as ${o.auth.username} (${o.authSource})${o.auth.mutual ? `, mutual with ${o.auth.mutual.username}` : ""}`,
    );
  let session: Session | undefined;
  let failure: unknown;
  let digestsOffered = true;
  let started = performance.now();
  try {
    session = await open(o, true);
  } catch (err) {
    failure = err;
  }
  // A target that breaks when offered CRC32C gets a second login without the offer, to tell the two apart.
  if (failure && errorCodeOf(failure) === "PROTOCOL") {
    try {
      started = performance.now();
      session = await open(o, false);
      f.fail(
        "target.digests",
        `the login fails when we offer CRC32C digests (${(failure as Error).message}) and succeeds without`,
        "keep node.conn[0].iscsi.HeaderDigest and DataDigest at None for this target",
        "PROTOCOL",
      );
      failure = undefined;
      digestsOffered = false;
    } catch {
      // The first error is the one to explain.
    }
  }
  const elapsed = performance.now() - started;
  const authRelated =
    failure !== undefined &&
    (errorCodeOf(failure) === "AUTH_FAILED" ||
      (failure instanceof LoginRejected && failure.statusClass === 2 && failure.statusDetail <= 1));
  const chap =
    failure === undefined || authRelated
      ? await probeChap(
          o.portal,
          {
            initiatorName: o.initiatorName,
            targetName: o.target,
            ...(o.auth.method === "CHAP" ? { username: o.auth.username, credentials: o.auth } : {}),
          },
          o.timeoutMs,
        )
      : undefined;
  if (session) {
    try {
      await loggedIn(f, o, session, elapsed, digestsOffered);
    } finally {
      await session.logout(o.timeoutMs).catch(() => session.close());
    }
  } else {
    const targetUsesChap = chap ? ![...chap.answers.values()].some((a) => a.kind === "no-chap") : undefined;
    const e = explainLogin(failure, {
      what: `the login to ${o.target}`,
      portal: formatPortal(o.portal),
      target: o.target,
      initiatorName: o.initiatorName,
      auth: o.auth.method,
      mutual: o.auth.method === "CHAP" && o.auth.mutual !== undefined,
      targetUsesChap,
      storeCredentials: storeHint(o),
    });
    f.fail("target.login", e.summary, e.fix, e.code, { error: (failure as Error).message, authSource: o.authSource });
  }
  if (chap) chapFinding(f, o, chap);
  return f;
}
