// A small seeded PRNG (xorshift32 behind a splitmix-style seed scramble) so every fuzz run can be replayed
// from its seed, and every episode from (seed, episode number).

export class Rng {
  private x: number;

  constructor(readonly seed: number) {
    this.x = scramble(seed) || 0x9e3779b9;
  }

  /** The generator for episode `n` of the run seeded `seed`, independent of how many draws came before. */
  static episode(seed: number, n: number): Rng {
    return new Rng(scramble((seed ^ Math.imul(n + 1, 0x85ebca6b)) >>> 0));
  }

  /** Uniform 32-bit unsigned. */
  u32(): number {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x >>> 0;
    return this.x;
  }

  /** Uniform integer in 0..n-1. */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 0x100000000) * n);
  }

  /** Uniform integer in lo..hi inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** A 32-bit value that tends to break things: edges, powers of two, near-misses of `near`. */
  interesting(near = 0): number {
    switch (this.int(8)) {
      case 0:
        return 0;
      case 1:
        return 0xffffffff;
      case 2:
        return this.pick([
          1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe,
        ]);
      case 3:
        return (near + this.range(-2, 2)) >>> 0;
      case 4:
        return (near + 0x80000000) >>> 0;
      case 5:
        return 2 ** this.int(32);
      case 6:
        return this.int(65536);
      default:
        return this.u32();
    }
  }
}

/** Seed for a run: from the environment when given (to replay), random otherwise. */
export function seedFrom(value: string | undefined): number {
  if (value !== undefined && value !== "") {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
      throw new Error(`seed ${JSON.stringify(value)} is not a 32-bit unsigned integer`);
    return n;
  }
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

function scramble(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}
