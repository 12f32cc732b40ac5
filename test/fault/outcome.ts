// Small helpers for fault and hostile-peer tests: how a promise ended within a deadline, and a recorder of
// unhandled rejections and uncaught exceptions (a hostile peer must never cause either).
import { expect } from "bun:test";

export type Outcome<T> =
  | { state: "resolved"; value: T }
  | { state: "rejected"; error: Error & { code?: string } }
  | { state: "pending" };

/** How `p` ended within `ms`, or "pending"; never throws. */
export async function within<T>(p: Promise<T>, ms: number): Promise<Outcome<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<Outcome<T>>((resolve) => {
    timer = setTimeout(() => resolve({ state: "pending" }), ms);
  });
  try {
    return await Promise.race([
      p.then(
        (value): Outcome<T> => ({ state: "resolved", value }),
        (error: Error): Outcome<T> => ({ state: "rejected", error }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** `p` must reject within `ms` with `code` and a message matching `message`. */
export async function expectRejected(p: Promise<unknown>, code: string, message: RegExp, ms = 3_000): Promise<void> {
  const outcome = await within(p, ms);
  expect(outcome.state).toBe("rejected");
  if (outcome.state !== "rejected") return;
  expect(outcome.error.code).toBe(code);
  expect(outcome.error.message).toMatch(message);
}

/** Records unhandled rejections and uncaught exceptions from `start()` until `stop()`. */
export class UnhandledWatch {
  readonly seen: unknown[] = [];
  private readonly onRejection = (reason: unknown) => void this.seen.push(reason);
  private readonly onException = (err: unknown) => void this.seen.push(err);

  start(): void {
    process.on("unhandledRejection", this.onRejection);
    process.on("uncaughtException", this.onException);
  }

  stop(): void {
    process.off("unhandledRejection", this.onRejection);
    process.off("uncaughtException", this.onException);
  }

  /** Messages of what was seen, for an assertion that shows them when it fails. */
  get messages(): string[] {
    return this.seen.map((e) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)));
  }
}
