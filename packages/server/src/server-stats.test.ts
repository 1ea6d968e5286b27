import { LATENCY_BOUNDS_MS } from '@stomp-rpc/client/internal';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ServerStatsCounter } from './server-stats.js';

describe('ServerStatsCounter', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stats - start at zero, with no errors, no lastError and an empty histogram', () => {
    const snapshot = new ServerStatsCounter().snapshot();
    expect(snapshot).toMatchObject({
      requests: 0,
      succeeded: 0,
      dropped: 0,
      errors: {},
      processingMs: { total: 0, average: 0 },
    });
    expect(snapshot.latency.count).toBe(0);
    expect(snapshot.latency.counts).toEqual(new Array(LATENCY_BOUNDS_MS.length + 1).fill(0));
    expect('lastError' in snapshot).toBe(false);
  });

  it('stats - a procedure named __proto__ is counted like any other, in the snapshot and its JSON', () => {
    const stats = new ServerStatsCounter();
    stats.answered(1, undefined, '1', '__proto__');
    stats.answered(1, undefined, '1', 'x');
    const { procedures } = JSON.parse(JSON.stringify(stats.snapshot()));
    expect(Object.keys(procedures)).toEqual(['__proto__', 'x']);
    expect(Object.getOwnPropertyDescriptor(procedures, '__proto__')?.value).toMatchObject({ requests: 1 });
  });

  it('stats - count requests received, dropped and succeeded separately', () => {
    const stats = new ServerStatsCounter();
    for (let i = 0; i < 5; i++) stats.received();
    stats.dropped();
    stats.dropped();
    stats.answered(1, undefined, '1');
    stats.answered(2, undefined, '1');
    stats.answered(3, undefined, '2');
    expect(stats.snapshot()).toMatchObject({ requests: 5, dropped: 2, succeeded: 3, errors: {} });
  });

  it('stats - an error reply counts under its code and not as a success', () => {
    const stats = new ServerStatsCounter();
    stats.answered(1, 'INVALID_ARGUMENT', 'n is not a number');
    stats.answered(1, 'INVALID_ARGUMENT', 'n is negative');
    stats.answered(1, 'INTERNAL', 'worker died');
    stats.answered(1, undefined, '8');
    const snapshot = stats.snapshot();
    expect(snapshot.errors).toEqual({ INVALID_ARGUMENT: 2, INTERNAL: 1 });
    expect(snapshot.succeeded).toBe(1);
  });

  it('stats - lastError is the latest error with its code, message and time; a later success keeps it', () => {
    vi.useFakeTimers({ now: new Date('2025-01-02T03:04:05.678Z') });
    const stats = new ServerStatsCounter();
    stats.answered(1, 'INTERNAL', 'first');
    vi.advanceTimersByTime(1000);
    stats.answered(1, 'INVALID_ARGUMENT', 'second');
    stats.answered(1, undefined, '13');
    expect(stats.snapshot().lastError).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'second',
      at: '2025-01-02T03:04:06.678Z',
    });
  });

  it('stats - lastError keeps the first 500 characters of a long message', () => {
    const stats = new ServerStatsCounter();
    const message = `${'a'.repeat(500)}${'b'.repeat(100)}`;
    stats.answered(1, 'INTERNAL', message);
    expect(stats.snapshot().lastError?.message).toBe('a'.repeat(500));

    stats.answered(1, 'INTERNAL', 'c'.repeat(500));
    expect(stats.snapshot().lastError?.message).toBe('c'.repeat(500));
  });

  it('stats - processing time is the total and average over answered requests, successes and errors alike', () => {
    const stats = new ServerStatsCounter();
    stats.answered(10, undefined, '55');
    stats.answered(20, 'INTERNAL', 'boom');
    stats.answered(60, undefined, '1');
    stats.received();
    stats.dropped(); // a dropped request has no processing time
    const { processingMs, latency } = stats.snapshot();
    expect(processingMs).toEqual({ total: 90, average: 30 });
    expect(latency.count).toBe(3);
    expect(latency.sumMs).toBe(90);
    expect(latency.maxMs).toBe(60);
  });

  it('stats - the latency histogram counts each answer in its bucket', () => {
    const stats = new ServerStatsCounter();
    stats.answered(0.1, undefined, '0');
    stats.answered(0.1, 'INTERNAL', 'boom');
    stats.answered(100_000, undefined, '1');
    const { latency } = stats.snapshot();
    expect(latency.counts[0]).toBe(2);
    expect(latency.counts.at(-1)).toBe(1);
    expect(latency.counts.reduce((sum, count) => sum + count, 0)).toBe(3);
  });

  it('stats - a snapshot is a copy that later counts do not change', () => {
    const stats = new ServerStatsCounter();
    stats.answered(1, 'INTERNAL', 'boom');
    const before = stats.snapshot();
    stats.received();
    stats.answered(5, 'INTERNAL', 'again');
    stats.answered(5, 'UNAVAILABLE', 'later');
    expect(before.requests).toBe(0);
    expect(before.errors).toEqual({ INTERNAL: 1 });
    expect(before.latency.count).toBe(1);
    expect(before.lastError?.message).toBe('boom');

    before.errors.INTERNAL = 99;
    expect(stats.snapshot().errors).toEqual({ INTERNAL: 2, UNAVAILABLE: 1 });
  });
});
