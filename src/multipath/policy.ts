// Path selectors, named as dm-multipath names them (multipath.conf(5)): failover keeps one active path
// (failback immediate or manual), round-robin rotates per command, queue-length takes the path with the
// fewest commands outstanding, service-time weighs that by the path's measured time per command.
import type { Path } from "./path.ts";

export const POLICIES = ["failover", "round-robin", "queue-length", "service-time"] as const;
export type PolicyName = (typeof POLICIES)[number];
export const FAILBACKS = ["immediate", "manual"] as const;
export type Failback = (typeof FAILBACKS)[number];

export interface DeviceSettings {
  policy: PolicyName;
  failback: Failback;
  /** How long commands wait while no path is up: ms, 0 = fail at once, -1 = forever. */
  noPathRetryMs: number;
  /** Path checker interval (TEST UNIT READY), ms. */
  pollingIntervalMs: number;
}

/** What a selector remembers between commands. */
export interface SelectorState {
  /** failover: the path in use. */
  active: Path | undefined;
  /** round-robin: commands handed out so far. */
  turn: number;
}

/** The path for the next command among `up` (in priority order, best first); undefined when none is up. */
export function selectPath(
  policy: PolicyName,
  failback: Failback,
  up: readonly Path[],
  st: SelectorState,
): Path | undefined {
  if (up.length === 0) return undefined;
  switch (policy) {
    case "failover": {
      const keep = failback === "manual" && st.active !== undefined && up.includes(st.active);
      if (!keep) st.active = up[0];
      return st.active;
    }
    case "round-robin":
      return up[st.turn++ % up.length];
    case "queue-length":
      return minBy(up, (p) => p.inFlight);
    case "service-time":
      // dm's service-time: (outstanding + 1) × the path's time per command; an unmeasured path costs nothing yet.
      return minBy(up, (p) => (p.inFlight + 1) * p.serviceMicros);
  }
}

function minBy(paths: readonly Path[], cost: (p: Path) => number): Path {
  let best = paths[0]!;
  let bestCost = cost(best);
  for (const p of paths.slice(1)) {
    const c = cost(p);
    if (c < bestCost) [best, bestCost] = [p, c];
  }
  return best;
}
