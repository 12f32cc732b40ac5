// Latency histogram for `iscsi bench`: log-linear buckets in a fixed array, so recording costs no
// allocation and memory stays flat however long a run lasts.

/** Buckets per doubling: a bucket spans 2^(1/32) ≈ 2.2 %, so a reported percentile is within about 1.1 %. */
const PER_OCTAVE = 32;
/** Microseconds up to 2^30 (about 18 minutes); anything longer lands in the last bucket (max stays exact). */
const OCTAVES = 30;

export interface LatencySummary {
  count: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(OCTAVES * PER_OCTAVE + 1);
  private total = 0;
  private sum = 0;
  private max = 0;

  /** Record one latency in microseconds. */
  record(us: number): void {
    // Bucket 0 holds everything below 1 µs; bucket i ≥ 1 holds [2^((i-1)/32), 2^(i/32)) µs.
    const i = us < 1 ? 0 : Math.min(this.counts.length - 1, 1 + Math.floor(Math.log2(us) * PER_OCTAVE));
    this.counts[i]!++;
    this.total++;
    this.sum += us;
    if (us > this.max) this.max = us;
  }

  get count(): number {
    return this.total;
  }

  /** The latency below which a fraction `q` (0..1) of the recorded values lie, as a bucket's geometric middle. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return i === 0 ? 0.5 : Math.min(this.max, 2 ** ((i - 0.5) / PER_OCTAVE));
    }
    return this.max;
  }

  summary(): LatencySummary {
    return {
      count: this.total,
      meanUs: this.total === 0 ? 0 : this.sum / this.total,
      p50Us: this.quantile(0.5),
      p99Us: this.quantile(0.99),
      maxUs: this.max,
    };
  }
}
