import { describe, expect, it } from 'vitest';
import { LATENCY_BOUNDS_MS, LatencyHistogram } from './latency-histogram.js';

describe('latency histogram', () => {
  it('histogram - counts each observation in the first bucket whose bound holds it', () => {
    const histogram = new LatencyHistogram();
    for (const ms of [0, 0.25, 0.3, 1, 7, 20_000]) histogram.record(ms);
    const { counts, count, sumMs, maxMs } = histogram.snapshot();
    expect(counts).toHaveLength(LATENCY_BOUNDS_MS.length + 1);
    expect(counts[0]).toBe(2); // 0 and 0.25 (bounds are inclusive)
    expect(counts[1]).toBe(1); // 0.3 <= 0.5
    expect(counts[2]).toBe(1); // 1 <= 1
    expect(counts[5]).toBe(1); // 7 <= 10
    expect(counts.at(-1)).toBe(1); // slower than the last bound
    expect({ count, sumMs, maxMs }).toEqual({ count: 6, sumMs: 20_008.55, maxMs: 20_000 });
  });

  it('histogram - quantiles fall inside the bucket that holds them and never exceed the maximum', () => {
    const histogram = new LatencyHistogram();
    for (let i = 0; i < 99; i++) histogram.record(3); // bucket (2.5, 5]
    histogram.record(400); // bucket (250, 500]
    const { p50Ms, p99Ms } = histogram.snapshot();
    expect(p50Ms).toBeGreaterThan(2.5);
    expect(p50Ms).toBeLessThanOrEqual(5);
    expect(p99Ms).toBeLessThanOrEqual(5);
    expect(histogram.quantile(1)).toBe(400);
  });

  it('histogram - empty gives zeros, and NaN or negative times are ignored', () => {
    const histogram = new LatencyHistogram();
    histogram.record(Number.NaN);
    histogram.record(-1);
    expect(histogram.snapshot()).toMatchObject({ count: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 });
  });
});
