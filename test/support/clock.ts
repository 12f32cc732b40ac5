// A controllable clock for protocol tests on the in-memory pipe: Bun's fake timers (setTimeout, setInterval and
// performance.now move only when the test says) and a way to let the pipe's queued microtasks run.
import { jest } from "bun:test";

/** Let everything already queued on the in-memory pipe and the session run (microtasks only; no time passes). */
export async function settle(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** Move the fake clock by `ms`, running what was queued before and what the timers start. */
export async function advance(ms: number): Promise<void> {
  await settle();
  jest.advanceTimersByTime(ms);
  await settle();
}

/** Run `body` with fake timers, restoring the real ones after. */
export async function withFakeClock<T>(body: () => Promise<T>): Promise<T> {
  jest.useFakeTimers();
  try {
    return await body();
  } finally {
    jest.useRealTimers();
  }
}
