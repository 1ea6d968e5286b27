/*
 * A fixed-bucket latency histogram: constant memory however many calls it counts, cheap to record
 * (a short scan over 15 bounds), and small enough to travel in every presence beat. Quantiles are
 * estimated by interpolating inside the bucket that holds them, so they are as precise as the
 * bucket widths (roughly 2x steps from 0.25 ms to 10 s).
 */

/** Upper bounds of the buckets in ms; a last, open bucket holds everything slower. */
export const LATENCY_BOUNDS_MS = [0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000] as const;

export interface LatencySnapshot {
  /** Upper bound of each bucket in ms (the open last bucket is not listed). */
  boundsMs: readonly number[];
  /** Observations per bucket; one more entry than `boundsMs` (the last is "slower than all"). */
  counts: number[];
  count: number;
  sumMs: number;
  maxMs: number;
  /** Estimated quantiles in ms; 0 while nothing was recorded. */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

export class LatencyHistogram {
  readonly #counts = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  #count = 0;
  #sumMs = 0;
  #maxMs = 0;

  record(ms: number): void {
    if (!(ms >= 0)) return; // NaN or negative: a clock step, not a latency
    let bucket = 0;
    while (bucket < LATENCY_BOUNDS_MS.length && ms > (LATENCY_BOUNDS_MS[bucket] as number)) bucket++;
    this.#counts[bucket] = (this.#counts[bucket] as number) + 1;
    this.#count++;
    this.#sumMs += ms;
    if (ms > this.#maxMs) this.#maxMs = ms;
  }

  snapshot(): LatencySnapshot {
    return {
      boundsMs: LATENCY_BOUNDS_MS,
      counts: [...this.#counts],
      count: this.#count,
      sumMs: this.#sumMs,
      maxMs: this.#maxMs,
      p50Ms: this.quantile(0.5),
      p90Ms: this.quantile(0.9),
      p99Ms: this.quantile(0.99),
    };
  }

  /** The estimated `q` quantile (0 < q <= 1) in ms, never above the slowest observation. */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = q * this.#count;
    let below = 0;
    for (let bucket = 0; bucket < this.#counts.length; bucket++) {
      const inBucket = this.#counts[bucket] as number;
      if (below + inBucket >= rank && inBucket > 0) {
        const lower = bucket === 0 ? 0 : (LATENCY_BOUNDS_MS[bucket - 1] as number);
        const upper = LATENCY_BOUNDS_MS[bucket] ?? this.#maxMs;
        const estimate = lower + ((upper - lower) * (rank - below)) / inBucket;
        return Math.min(estimate, this.#maxMs);
      }
      below += inBucket;
    }
    return this.#maxMs;
  }
}
