// Background logins of automatic nodes (open-iscsi #73, #299, #304): each node retries on its own with capped
// exponential backoff and jitter, so a dead target delays nothing else and the daemon answers at once.
import type { ConsolaInstance } from "consola";
import { errorCodeOf, type ErrorCode } from "../contract/errors.ts";
import type { PendingLogin } from "../contract/views.ts";

/** Failures retrying cannot fix: a wrong secret, a bad record, a node deleted meanwhile. */
const FINAL: ReadonlySet<ErrorCode> = new Set([
  "AUTH_FAILED",
  "CONFIG",
  "INVALID_ARGUMENT",
  "NOT_FOUND",
  "SESSION_EXISTS",
]);

export function isRetryable(err: unknown): boolean {
  return !FINAL.has(errorCodeOf(err));
}

/** Delay before retry `attempt` (1-based): initial·2^(attempt−1) capped at max, then "equal jitter" (50–100 %). */
export function backoffDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(base * (0.5 + random() * 0.5));
}

interface Loop extends PendingLogin {
  cancelled: boolean;
  wake?: () => void;
}

export class StartupLogins {
  private readonly loops = new Map<string, Loop>();

  constructor(
    private readonly tryLogin: (key: string) => Promise<unknown>,
    private readonly policy: { retryInitialMs: number; retryMaxMs: number },
    private readonly log: ConsolaInstance,
    /** How its log lines name one attempt's kind ("startup login", "restore"), before the label. */
    private readonly noun = "startup login",
  ) {}

  /** Starts one independent loop per node; returns at once. */
  start(nodes: Array<{ key: string; label: string }>): void {
    for (const n of nodes) {
      if (this.loops.get(n.key)?.state === "trying" || this.loops.get(n.key)?.state === "waiting") continue;
      const loop: Loop = { key: n.key, label: n.label, state: "trying", attempts: 0, cancelled: false };
      this.loops.set(n.key, loop);
      void this.run(loop);
    }
  }

  pending(): PendingLogin[] {
    return [...this.loops.values()].map(({ key, label, state, attempts, lastError, nextAttemptAt }) => ({
      key,
      label,
      state,
      attempts,
      lastError,
      nextAttemptAt,
    }));
  }

  cancel(key: string): void {
    const loop = this.loops.get(key);
    if (!loop) return;
    loop.cancelled = true;
    loop.wake?.();
    this.loops.delete(key);
  }

  cancelAll(): void {
    for (const key of [...this.loops.keys()]) this.cancel(key);
  }

  private async run(loop: Loop): Promise<void> {
    while (!loop.cancelled) {
      loop.attempts++;
      loop.state = "trying";
      loop.nextAttemptAt = undefined;
      this.log.info(`${this.noun} ${loop.label}: attempt ${loop.attempts}`);
      try {
        await this.tryLogin(loop.key);
        this.log.info(`${this.noun} ${loop.label}: done after ${loop.attempts} attempt(s)`);
        if (this.loops.get(loop.key) === loop) this.loops.delete(loop.key);
        return;
      } catch (err) {
        if (loop.cancelled) return;
        const code = errorCodeOf(err);
        loop.lastError = { code, message: (err as Error).message };
        if (code === "SESSION_EXISTS") {
          this.loops.delete(loop.key);
          return;
        }
        if (!isRetryable(err)) {
          loop.state = "gave-up";
          this.log.error(
            `${this.noun} ${loop.label}: attempt ${loop.attempts} failed (${code}): ${loop.lastError.message}; not retrying`,
          );
          return;
        }
        const delay = backoffDelay(loop.attempts, this.policy.retryInitialMs, this.policy.retryMaxMs);
        loop.state = "waiting";
        loop.nextAttemptAt = new Date(Date.now() + delay).toISOString();
        this.log.warn(
          `${this.noun} ${loop.label}: attempt ${loop.attempts} failed (${code}): ${loop.lastError.message}; next attempt in ${(delay / 1000).toFixed(1)} s`,
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          loop.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        loop.wake = undefined;
      }
    }
  }
}
