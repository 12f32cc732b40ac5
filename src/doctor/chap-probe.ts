// Which CHAP algorithms a target accepts (RFC 7143 §12.1.3): one login per algorithm offering CHAP_A with that
// value alone, stopped as soon as the target answers with its CHAP_A/CHAP_I/CHAP_C, so no secret is needed and
// no failed authentication is logged on the target. With real credentials each accepted algorithm is then tried
// for real, which shows targets that pick an algorithm they compute wrongly.
import { chapAlgorithm } from "../login/chap.ts";
import { login, type ChapParams, type LoginExchange } from "../login/login.ts";
import { parseTextKeys } from "../pdu/text.ts";
import { Connection } from "../connection/connection.ts";
import { Session } from "../session/session.ts";
import { withTimeout } from "../transport/deadline.ts";
import type { Portal } from "../transport/portal.ts";
import { connectTcp } from "../transport/tcp.ts";

export type AlgorithmAnswer =
  | { kind: "accepted" }
  | { kind: "refused"; how: string }
  /** The target refused AuthMethod=CHAP itself: it does not use CHAP for this target. */
  | { kind: "no-chap"; answer: string }
  | { kind: "error"; message: string };

export interface ChapProbeResult {
  /** CHAP_A value → what the target did with an offer of that value alone. */
  answers: Map<number, AlgorithmAnswer>;
  /** CHAP_A value → result of a real login with the stored secret (only for accepted ones, only with a secret). */
  verified: Map<number, { ok: true } | { ok: false; message: string }>;
}

export const PROBED_ALGORITHMS = [5, 6, 7, 8] as const;
export const algorithmName = (a: number) => chapAlgorithm(a).name;

class Enough extends Error {}

interface Seen {
  status: number;
  keys: Map<string, string>;
}

/** Passes the exchange through, keeping every response's status and keys; stops once CHAP_C arrives. */
function observing(inner: LoginExchange, seen: Seen[]): LoginExchange {
  return {
    async exchange(request, data) {
      const r = await inner.exchange(request, data);
      let keys = new Map<string, string>();
      try {
        keys = new Map(parseTextKeys(r.data));
      } catch {
        // Malformed text is the login code's to report.
      }
      seen.push({ status: (r.pdu.statusClass << 8) | r.pdu.statusDetail, keys });
      if (keys.has("CHAP_C")) throw new Enough();
      return r;
    },
  };
}

function classify(algorithm: number, seen: Seen[], err: unknown): AlgorithmAnswer {
  const method = seen.find((s) => s.keys.has("AuthMethod"))?.keys.get("AuthMethod");
  if (method !== undefined && method !== "CHAP") return { kind: "no-chap", answer: method };
  const chosen = seen.find((s) => s.keys.has("CHAP_A"))?.keys.get("CHAP_A");
  if (chosen === String(algorithm) && err instanceof Enough) return { kind: "accepted" };
  if (chosen === "Reject") return { kind: "refused", how: "CHAP_A=Reject" };
  if (chosen !== undefined)
    return { kind: "error", message: `answered CHAP_A=${chosen} to an offer of ${algorithm} alone` };
  const last = seen.at(-1);
  // QUIRK(tgt 1.0.85): an algorithm it does not know gets status 0x0200 (initiator error), not CHAP_A=Reject.
  if (method === "CHAP" && last && last.status >> 8 === 2 && (last.status & 0xff) <= 1) {
    return { kind: "refused", how: `login failed with status 0x0${last.status.toString(16)}` };
  }
  return { kind: "error", message: (err as Error)?.message ?? String(err) };
}

async function offerAlone(
  portal: Portal,
  base: ProbeLogin,
  algorithm: number,
  timeoutMs: number,
): Promise<AlgorithmAnswer> {
  let connection: Connection | undefined;
  const seen: Seen[] = [];
  try {
    const transport = await connectTcp(portal.host, portal.port, timeoutMs);
    connection = new Connection(transport, `chap-probe-${algorithm}`);
    const dummy: ChapParams = {
      method: "CHAP",
      username: base.username ?? "iscsi-doctor",
      secret: crypto.getRandomValues(new Uint8Array(16)),
      algorithms: [algorithm],
    };
    await withTimeout(
      login(observing(connection.loginExchange(), seen), {
        initiatorName: base.initiatorName,
        targetName: base.targetName,
        sessionType: "Normal",
        isid: 0x800000000000 + Math.floor(Math.random() * 2 ** 32),
        tsih: 0,
        cid: 0,
        initialCmdSN: 1,
        auth: dummy,
      }),
      timeoutMs,
      () => new Error(`no answer within ${timeoutMs} ms`),
    );
    return { kind: "error", message: "the target let us in without checking our CHAP response" };
  } catch (err) {
    return classify(algorithm, seen, err);
  } finally {
    connection?.close();
  }
}

export interface ProbeLogin {
  initiatorName: string;
  targetName: string;
  username?: string;
  /** Real credentials: every accepted algorithm is also tried with them. */
  credentials?: ChapParams;
}

export async function probeChap(portal: Portal, p: ProbeLogin, timeoutMs: number): Promise<ChapProbeResult> {
  const answers = new Map<number, AlgorithmAnswer>();
  for (const a of PROBED_ALGORITHMS) {
    const answer = await offerAlone(portal, p, a, timeoutMs);
    answers.set(a, answer);
    // A target that refuses AuthMethod=CHAP refuses it whatever the algorithm.
    if (answer.kind === "no-chap") break;
  }
  const verified = new Map<number, { ok: true } | { ok: false; message: string }>();
  if (p.credentials) {
    for (const [a, answer] of answers) {
      if (answer.kind !== "accepted") continue;
      try {
        const s = await Session.open({
          portal,
          login: {
            initiatorName: p.initiatorName,
            targetName: p.targetName,
            sessionType: "Normal",
            auth: { ...p.credentials, algorithms: [a] },
          },
          connectTimeoutMs: timeoutMs,
          loginTimeoutMs: timeoutMs,
          recovery: { nopIntervalMs: 0 },
        });
        await s.logout().catch(() => s.close());
        verified.set(a, { ok: true });
      } catch (err) {
        verified.set(a, { ok: false, message: (err as Error).message });
      }
    }
  }
  return { answers, verified };
}
