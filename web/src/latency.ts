// Latency histogram for the burst chart: fixed, roughly logarithmic buckets (1-2-5 steps), so
// fast local calls and slow ones under load both stay readable. Unit-tested in latency.test.ts.

/** Upper bounds of the buckets in ms; the last bucket holds everything slower. */
export const BUCKET_BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] as const;

export interface Bucket {
  /** Short, for the axis: the bucket's upper bound ("<20", "<1s"), or "≥5s" for the last. */
  label: string;
  /** The whole range ("10–20"), for tooltips. */
  range: string;
  count: number;
}

export class LatencyRecorder {
  readonly #counts = new Array<number>(BUCKET_BOUNDS_MS.length + 1).fill(0);
  /**
   * The samples in order, and those recorded since the last quantile(). The burst redraws every
   * 200 ms with two quantiles; sorting 100,000 samples for each would stall the page, so only the
   * new ones are sorted, then merged in.
   */
  #sorted: number[] = [];
  #recent: number[] = [];

  record(ms: number): void {
    const index = BUCKET_BOUNDS_MS.findIndex((bound) => ms < bound);
    const slot = index === -1 ? BUCKET_BOUNDS_MS.length : index;
    this.#counts[slot] = (this.#counts[slot] ?? 0) + 1;
    this.#recent.push(ms);
  }

  get count(): number {
    return this.#sorted.length + this.#recent.length;
  }

  buckets(): Bucket[] {
    return this.#counts.map((count, index) => ({ label: bucketLabel(index), range: bucketRange(index), count }));
  }

  /** The q-quantile (0..1) of the recorded samples, nearest-rank; undefined when empty. */
  quantile(q: number): number | undefined {
    const sorted = this.#sortedSamples();
    if (sorted.length === 0) return undefined;
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
    return sorted[rank];
  }

  #sortedSamples(): number[] {
    if (this.#recent.length === 0) return this.#sorted;
    const recent = this.#recent.sort((a, b) => a - b);
    const merged = new Array<number>(this.#sorted.length + recent.length);
    let [i, j, k] = [0, 0, 0];
    while (i < this.#sorted.length || j < recent.length) {
      const takeOld =
        j >= recent.length || (i < this.#sorted.length && (this.#sorted[i] as number) <= (recent[j] as number));
      merged[k++] = takeOld ? (this.#sorted[i++] as number) : (recent[j++] as number);
    }
    this.#sorted = merged;
    this.#recent = [];
    return merged;
  }
}

const inMs = (value: number) => (value >= 1000 ? `${value / 1000}s` : `${value}`);

export function bucketLabel(index: number): string {
  const upper = BUCKET_BOUNDS_MS[index];
  return upper === undefined ? `≥${inMs(BUCKET_BOUNDS_MS.at(-1) ?? 0)}` : `<${inMs(upper)}`;
}

export function bucketRange(index: number): string {
  const upper = BUCKET_BOUNDS_MS[index];
  const lower = index === 0 ? 0 : BUCKET_BOUNDS_MS[index - 1];
  if (lower === undefined) return '?';
  if (upper === undefined) return `≥${inMs(lower)}`;
  return `${inMs(lower)}–${inMs(upper)}`;
}

export interface RatePoint {
  /** End of the interval, from the start of the burst. */
  atMs: number;
  /** Calls completed per second during the interval. */
  perSecond: number;
}

/** Completions counted in short time bins from the start of a burst, for the calls/s chart. */
export class RateSeries {
  readonly #bins: number[] = [];
  readonly #binMs: number;

  constructor(binMs = 50) {
    this.#binMs = binMs;
  }

  /** One call completed `elapsedMs` after the start. */
  mark(elapsedMs: number): void {
    const index = Math.max(0, Math.floor(elapsedMs / this.#binMs));
    while (this.#bins.length <= index) this.#bins.push(0);
    this.#bins[index] = (this.#bins[index] ?? 0) + 1;
  }

  /** Calls per second from the start to `elapsedMs`, merged into at most `maxPoints` intervals. */
  points(elapsedMs: number, maxPoints = 100): RatePoint[] {
    const binCount = Math.max(1, Math.ceil(elapsedMs / this.#binMs));
    const perPoint = Math.ceil(binCount / maxPoints);
    const intervals: { startMs: number; endMs: number; count: number }[] = [];
    for (let first = 0; first < binCount; first += perPoint) {
      let count = 0;
      for (let bin = first; bin < Math.min(binCount, first + perPoint); bin++) count += this.#bins[bin] ?? 0;
      const startMs = first * this.#binMs;
      const endMs = Math.min(elapsedMs, (first + perPoint) * this.#binMs);
      if (endMs > startMs) intervals.push({ startMs, endMs, count });
    }
    // A sliver of an interval at the end would show a few calls as a huge rate: fold it into the
    // interval before.
    const last = intervals.at(-1);
    const beforeLast = intervals.at(-2);
    if (last && beforeLast && last.endMs - last.startMs < (perPoint * this.#binMs) / 2) {
      beforeLast.endMs = last.endMs;
      beforeLast.count += last.count;
      intervals.pop();
    }
    return intervals.map(({ startMs, endMs, count }) => ({
      atMs: endMs,
      perSecond: (count * 1000) / (endMs - startMs),
    }));
  }
}
