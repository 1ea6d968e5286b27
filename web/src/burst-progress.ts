// What a burst has measured so far, and the words the page shows for it. No DOM and no clock:
// the page passes the times in, so all of it is unit-tested in burst-progress.test.ts.
import type { BurstResult } from './burst.js';
import { formatMs } from './format.js';
import { LatencyRecorder, RateSeries } from './latency.js';
import { type ReadableError, readableError } from './messages.js';

/** The summary line and the charts' accessible names. */
export interface BurstText {
  summary: string;
  histogramLabel: string;
  rateLabel: string;
}

export class BurstProgress {
  /** Latencies of the calls that succeeded (a failed call's time says nothing about the servers). */
  readonly latencies = new LatencyRecorder();
  /** When each call ended, successes and failures alike, for the calls/s chart. */
  readonly completions = new RateSeries();
  readonly errorsByCode = new Map<string, number>();
  ended = 0;
  /** How far into the burst the page last looked (performance.now() based); the rate chart ends here. */
  elapsedMs = 0;
  #refusal: ReadableError | undefined;

  /**
   * @param total the calls the burst will make
   * @param startedAt when it started, by performance.now()
   */
  constructor(
    readonly total: number,
    readonly startedAt: number,
  ) {}

  /**
   * The burst's first INVALID_ARGUMENT: every call asks the same of the same client (the same n,
   * the same URLs), so every later one would fail the same way, and the burst stops there.
   */
  get refusal(): ReadableError | undefined {
    return this.#refusal;
  }

  /** One call ended `atMs` after the burst started; returns false when the burst should go no further. */
  callEnded(outcome: { latencyMs: number; error?: unknown }, atMs: number): boolean {
    this.ended++;
    this.completions.mark(atMs);
    if (outcome.error === undefined) {
      this.latencies.record(outcome.latencyMs);
      return true;
    }
    const readable = readableError(outcome.error);
    this.errorsByCode.set(readable.code, (this.errorsByCode.get(readable.code) ?? 0) + 1);
    if (readable.code === 'INVALID_ARGUMENT') this.#refusal ??= readable;
    return this.#refusal === undefined;
  }

  /** What the page says about the burst: while it runs without `result`, at the end with it. */
  summarize(result?: BurstResult): BurstText {
    const p50 = this.latencies.quantile(0.5);
    const p95 = this.latencies.quantile(0.95);
    const percentiles = p50 === undefined || p95 === undefined ? '' : ` · p50 ${formatMs(p50)} · p95 ${formatMs(p95)}`;
    const errors = [...this.errorsByCode].map(([code, count]) => `${code} ×${count}`).join(', ');
    // The overall rate only once it is final; while the burst runs, the chart shows the rate.
    const overall = result
      ? ` · ${Math.round((this.ended * 1000) / Math.max(1, result.elapsedMs))} calls/s overall`
      : '';
    const verb = result ? (result.aborted ? 'stopped after' : 'done:') : 'running:';
    const latestPerSecond = this.completions.points(this.elapsedMs).at(-1)?.perSecond ?? 0;
    const refused = this.#refusal ? ` · stopped: ${this.#refusal.code}: ${this.#refusal.detail}` : '';
    return {
      summary: `${verb} ${this.ended} of ${this.total} calls${overall}${percentiles}${errors ? ` · errors: ${errors}` : ''}${refused}`,
      histogramLabel: `Latency histogram: ${this.latencies.count} calls${percentiles.replaceAll(' · ', ', ')}`,
      rateLabel: `Calls per second: ${Math.round(latestPerSecond)} in the latest interval`,
    };
  }
}
