import { describe, expect, it } from 'vitest';
import { BUCKET_BOUNDS_MS, bucketLabel, bucketRange, LatencyRecorder, RateSeries } from './latency.js';

describe('latency', () => {
  it('LatencyRecorder - puts each sample in the bucket whose range holds it', () => {
    const recorder = new LatencyRecorder();
    for (const ms of [0.5, 1, 1.9, 7, 6000]) recorder.record(ms);
    const counts = recorder.buckets().map((bucket) => bucket.count);
    expect(counts).toHaveLength(BUCKET_BOUNDS_MS.length + 1);
    expect(counts[0]).toBe(1); // <1
    expect(counts[1]).toBe(2); // 1–2
    expect(counts[3]).toBe(1); // 5–10
    expect(counts.at(-1)).toBe(1); // ≥5s
    expect(recorder.count).toBe(5);
  });

  it('LatencyRecorder - quantiles by nearest rank, undefined when empty', () => {
    const recorder = new LatencyRecorder();
    expect(recorder.quantile(0.5)).toBeUndefined();
    for (let ms = 1; ms <= 100; ms++) recorder.record(ms);
    expect(recorder.quantile(0.5)).toBe(50);
    expect(recorder.quantile(0.95)).toBe(95);
    expect(recorder.quantile(1)).toBe(100);
  });

  it('LatencyRecorder - samples recorded between quantiles are merged in order, as if all were sorted at once', () => {
    const recorder = new LatencyRecorder();
    const samples: number[] = [];
    let seed = 7;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i++) {
        seed = (seed * 48271) % 2147483647; // a fixed pseudo-random order, with repeats
        const ms = seed % 300;
        samples.push(ms);
        recorder.record(ms);
      }
      const sorted = [...samples].sort((a, b) => a - b);
      for (const q of [0.01, 0.5, 0.95, 1]) {
        expect(recorder.quantile(q), `round ${round}, q ${q}`).toBe(sorted[Math.ceil(q * sorted.length) - 1]);
      }
    }
    expect(recorder.count).toBe(1000);
  });

  it('bucketLabel, bucketRange - upper bounds for the axis, ranges for tooltips, seconds from 1000 ms', () => {
    expect([0, 1, 10, BUCKET_BOUNDS_MS.length].map(bucketLabel)).toEqual(['<1', '<2', '<2s', '≥5s']);
    expect([0, 1, 10, BUCKET_BOUNDS_MS.length].map(bucketRange)).toEqual(['0–1', '1–2', '1s–2s', '≥5s']);
  });

  it('RateSeries - calls per second over time from the start, merged into at most maxPoints intervals', () => {
    const series = new RateSeries(50);
    for (let t = 0; t < 1000; t += 2) series.mark(t); // 500 per second for 1 s, then nothing
    const fine = series.points(2000);
    expect(fine).toHaveLength(40);
    expect(fine[0]).toEqual({ atMs: 50, perSecond: 500 });
    expect(fine.at(-1)).toEqual({ atMs: 2000, perSecond: 0 });
    expect(series.points(2000, 2)).toEqual([
      { atMs: 1000, perSecond: 500 },
      { atMs: 2000, perSecond: 0 },
    ]);
  });

  it('RateSeries - rates a partial last interval over the time it covers so far', () => {
    const series = new RateSeries(50);
    for (let t = 0; t < 530; t += 2) series.mark(t); // 15 calls (500..528) in the last 30 ms
    expect(series.points(530).at(-1)).toEqual({ atMs: 530, perSecond: 500 });
  });

  it('RateSeries - folds a sliver at the end into the interval before, so it shows no false peak', () => {
    const series = new RateSeries(50);
    for (let t = 0; t < 500; t += 10) series.mark(t); // 100 per second
    for (let i = 0; i < 5; i++) series.mark(501); // 5 calls in the last 2 ms: 2500 per second alone
    const points = series.points(502);
    expect(points).toHaveLength(10);
    expect(points.at(-1)).toEqual({ atMs: 502, perSecond: (10 * 1000) / 52 });
  });
});
