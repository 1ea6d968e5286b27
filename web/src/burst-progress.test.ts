import { RpcError } from '@stomp-rpc/client';
import { describe, expect, it } from 'vitest';
import { BurstProgress } from './burst-progress.js';

describe('burst-progress', () => {
  it('BurstProgress - says a burst with no ended calls yet is running, with no percentiles', () => {
    expect(new BurstProgress(300, 0).summarize()).toEqual({
      summary: 'running: 0 of 300 calls',
      histogramLabel: 'Latency histogram: 0 calls',
      rateLabel: 'Calls per second: 0 in the latest interval',
    });
  });

  it('BurstProgress - records successes as latencies and counts failures by code', () => {
    const progress = new BurstProgress(5, 0);
    progress.callEnded({ latencyMs: 4 }, 10);
    progress.callEnded({ latencyMs: 8 }, 20);
    progress.callEnded({ latencyMs: 900, error: new RpcError('TIMEOUT', 'no answer') }, 30);
    progress.callEnded({ latencyMs: 900, error: new RpcError('TIMEOUT', 'no answer') }, 40);
    progress.callEnded({ latencyMs: 1, error: new Error('boom') }, 50);
    expect(progress.ended).toBe(5);
    expect(progress.latencies.count).toBe(2);
    expect([...progress.errorsByCode]).toEqual([
      ['TIMEOUT', 2],
      ['UNEXPECTED', 1],
    ]);
  });

  it('BurstProgress - while running: calls so far, percentiles, errors and the latest rate', () => {
    const progress = new BurstProgress(100, 0);
    for (let atMs = 0; atMs < 1000; atMs += 20) progress.callEnded({ latencyMs: 10 }, atMs); // one every 20 ms
    progress.callEnded({ latencyMs: 0, error: new RpcError('NO_SERVERS', 'none') }, 999);
    progress.elapsedMs = 1000;
    expect(progress.summarize()).toEqual({
      summary: 'running: 51 of 100 calls · p50 10.0 ms · p95 10.0 ms · errors: NO_SERVERS ×1',
      histogramLabel: 'Latency histogram: 50 calls, p50 10.0 ms, p95 10.0 ms',
      // The latest 50 ms interval, 950–1000 ms, holds three calls: 960, 980 and 999.
      rateLabel: 'Calls per second: 60 in the latest interval',
    });
  });

  it('BurstProgress - at the end: done or stopped after, with the overall rate over the whole burst', () => {
    const progress = new BurstProgress(4, 0);
    for (const latencyMs of [1, 2, 3, 4]) progress.callEnded({ latencyMs }, latencyMs);
    expect(progress.summarize({ succeeded: 4, failed: 0, elapsedMs: 8, aborted: false }).summary).toBe(
      'done: 4 of 4 calls · 500 calls/s overall · p50 2.00 ms · p95 4.00 ms',
    );
    expect(progress.summarize({ succeeded: 4, failed: 0, elapsedMs: 0, aborted: true }).summary).toBe(
      'stopped after 4 of 4 calls · 4000 calls/s overall · p50 2.00 ms · p95 4.00 ms',
    );
  });

  it('BurstProgress - the first INVALID_ARGUMENT stops the burst, and the summary says why', () => {
    const progress = new BurstProgress(500, 0);
    expect(progress.callEnded({ latencyMs: 3, error: new RpcError('TIMEOUT', 'no answer') }, 3)).toBe(true);
    const refused = new RpcError('INVALID_ARGUMENT', 'n must be at most 100000', { remote: true });
    expect(progress.callEnded({ latencyMs: 2, error: refused }, 5)).toBe(false);
    expect(progress.callEnded({ latencyMs: 2, error: refused }, 6)).toBe(false); // one already in flight
    expect(progress.summarize({ succeeded: 0, failed: 3, elapsedMs: 10, aborted: true }).summary).toBe(
      'stopped after 3 of 500 calls · 300 calls/s overall · errors: TIMEOUT ×1, INVALID_ARGUMENT ×2 · stopped: ' +
        'INVALID_ARGUMENT: n must be at most 100000',
    );
  });
});
