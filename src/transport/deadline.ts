// The one timeout race: a promise against a timer that rejects with the caller's error, the timer always cleared.

/** `p`, or a rejection with `onTimeout()` once `ms` have passed; the caller still owns cleaning up `p`. */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
