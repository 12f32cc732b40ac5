// What one session does about the system's events (sleep, wake, network change; see docs/reliability.md,
// "System events"): probe its connection at once instead of waiting for the keepalive (RFC 7143 §11.18
// NOP-Out), drop a connection whose local address is gone, and pause or resume the keepalive around sleep.
// Nothing here logs out: a session survives sleep and reconnects by itself (recovery.ts).
import { networkInterfaces } from "node:os";
import { IscsiError } from "../contract/errors.ts";
import type { Session } from "./session.ts";

export type ProbeOutcome = "alive" | "dropped" | "retrying" | "idle";

/** Is `address` still assigned to an interface of this machine? */
export function addressPresent(address: string): boolean {
  const bare = address.replace(/^::ffff:/, "").replace(/%.*$/, "");
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.address.replace(/%.*$/, "") === bare) return true;
  }
  return false;
}

/** Drop the connection at once when its local address left the machine (no packet of it can come back). */
export function dropIfAddressGone(s: Session, why: string): boolean {
  if (s.state.kind !== "full-feature" && s.state.kind !== "verifying") return false;
  const connection = s.connection;
  const local = connection.localAddress;
  if (!local || connection.closed || addressPresent(local)) return false;
  connection.close(
    new IscsiError(
      "TRANSPORT",
      `${why}: local address ${local} of the connection to ${connection.peer} is gone; reconnecting`,
    ),
  );
  return true;
}

/**
 * Check the session's connection now. A connection whose local address left the machine is dropped at once;
 * otherwise a NOP-Out must come back within `timeoutMs` or the connection is dropped. Either way recovery
 * reconnects (over whatever route is now best). A recovering session tries its next login at once.
 */
export async function probe(s: Session, why: string, timeoutMs: number): Promise<ProbeOutcome> {
  if (s.state.kind === "recovering") {
    s.retryNow();
    return "retrying";
  }
  if (s.state.kind !== "full-feature" && s.state.kind !== "verifying") return "idle";
  if (dropIfAddressGone(s, why)) return "dropped";
  const connection = s.connection;
  try {
    await s.requests.ping(timeoutMs);
    return "alive";
  } catch (err) {
    if (s.connection !== connection || connection.closed) return "dropped";
    connection.close(
      new IscsiError(
        "PDU_TIMEOUT",
        `${why}: no answer to a NOP-Out probe from ${connection.peer} within ${timeoutMs} ms (${(err as Error).message}); reconnecting`,
      ),
    );
    return "dropped";
  }
}

/** Before sleep: no keepalive ping may declare the connection dead while the machine is asleep. */
export function pauseKeepalive(s: Session): void {
  s.keepalive.stop();
}

/** After wake: keepalive runs again (a reinstatement starts it by itself). */
export function resumeKeepalive(s: Session): void {
  if (s.state.kind === "full-feature" || s.state.kind === "verifying") s.keepalive.start();
}
