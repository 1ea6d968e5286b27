import type { ServerInfo } from '@stomp-rpc/client';
import { describe, expect, it } from 'vitest';
import { nextSample, serverCells } from './servers.js';

const STARTED = '2024-01-01T00:00:00.000Z';

/** A server as the client reports it; only the fields the panel reads matter. */
function serverInfo(overrides: Partial<ServerInfo> & { requests?: number } = {}): ServerInfo {
  const { requests = 0, ...rest } = overrides;
  return {
    id: 'fib-1',
    host: 'box',
    pid: 42,
    version: '1.0.0',
    queue: 'rpc_queue',
    prefetch: 8,
    inFlight: 3,
    beatMs: 1000,
    startedAt: STARTED,
    lastSeen: 10_000,
    announcedAt: 10_000,
    stats: {
      requests,
      succeeded: 0,
      errors: {},
      dropped: 0,
      processingMs: { total: 0, average: 0 },
      latency: { boundsMs: [], counts: [0], count: 0, sumMs: 0, maxMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0 },
    },
    ...rest,
  };
}

describe('servers', () => {
  it('nextSample - a first announcement has no rate yet', () => {
    expect(nextSample(undefined, serverInfo({ requests: 50 }))).toEqual({
      requests: 50,
      announcedAt: 10_000,
      perSecond: 0,
      startedAt: STARTED,
    });
  });

  it('nextSample - the rate is the requests between two announcements over the time between them', () => {
    const first = nextSample(undefined, serverInfo({ requests: 50, announcedAt: 10_000 }));
    expect(nextSample(first, serverInfo({ requests: 80, announcedAt: 12_000, lastSeen: 12_000 }))).toEqual({
      requests: 80,
      announcedAt: 12_000,
      perSecond: 15,
      startedAt: STARTED,
    });
  });

  it('nextSample - a server that restarted under the same id (a new startedAt) has no rate yet, not a negative one', () => {
    const before = nextSample(undefined, serverInfo({ requests: 500, announcedAt: 10_000 }));
    const restarted = '2024-01-01T01:00:00.000Z';
    expect(nextSample(before, serverInfo({ requests: 3, announcedAt: 12_000, startedAt: restarted }))).toEqual({
      requests: 3,
      announcedAt: 12_000,
      perSecond: 0,
      startedAt: restarted,
    });
  });

  // Regression: an answer to the page's ping that came 5 ms after a beat showed 2,000 req/s; one
  // sent before a beat and delivered after it (another queue) read as a restart, 0, then 631.6.
  it('nextSample - answers to pings next to the beats: no rate over less than a second, older counts passed over', () => {
    const beat = nextSample(undefined, serverInfo({ requests: 0, announcedAt: 10_000 }));
    const second = nextSample(beat, serverInfo({ requests: 1000, announcedAt: 12_000 }));
    expect(second.perSecond).toBe(500);
    expect(nextSample(second, serverInfo({ requests: 1010, announcedAt: 12_005 }))).toBe(second);
    expect(nextSample(second, serverInfo({ requests: 990, announcedAt: 13_100 }))).toBe(second); // older counts
    expect(nextSample(second, serverInfo({ requests: 2000, announcedAt: 14_000 })).perSecond).toBe(500);
  });

  it('nextSample - keeps the previous sample, rate and all, until a new announcement arrives', () => {
    const previous = { requests: 80, announcedAt: 12_000, perSecond: 15, startedAt: STARTED };
    expect(nextSample(previous, serverInfo({ requests: 80, announcedAt: 12_000 }))).toBe(previous);
  });

  it('nextSample - a reply from the server (lastSeen moved, the counters not) keeps the rate: not 0 mid-burst, nor spiking after', () => {
    const first = nextSample(undefined, serverInfo({ requests: 0, announcedAt: 10_000, lastSeen: 10_000 }));
    const announced = nextSample(first, serverInfo({ requests: 1000, announcedAt: 12_000, lastSeen: 12_000 }));
    expect(announced.perSecond).toBe(500);
    // Replies every few ms between beats: the panel redraws, and the same counters stand.
    const replied = nextSample(announced, serverInfo({ requests: 1000, announcedAt: 12_000, lastSeen: 12_200 }));
    expect(replied).toBe(announced);
    const next = nextSample(replied, serverInfo({ requests: 2000, announcedAt: 14_000, lastSeen: 14_000 }));
    expect(next.perSecond).toBe(500);
  });

  it('serverCells - one text per column; no average before a success, errors summed over codes', () => {
    // Seen by its announcement: a reconnect moved lastSeen to now without hearing from it.
    const idle = serverInfo({ announcedAt: 10_000, lastSeen: 12_400 });
    expect(serverCells(idle, { perSecond: 0, burstCalls: 0, now: 12_400 })).toEqual([
      'fib-1',
      'box · 42',
      '3 / 8',
      '0.0',
      '–',
      '0',
      '0',
      '2 s ago',
    ]);
    const busy = serverInfo({ announcedAt: 10_000 });
    busy.stats.succeeded = 10;
    busy.stats.processingMs = { total: 42, average: 4.2 };
    busy.stats.errors = { TIMEOUT: 2, INVALID_ARGUMENT: 1 };
    // A clock a little behind the announcement's says 0 s ago, not a negative time.
    expect(serverCells(busy, { perSecond: 12.345, burstCalls: 7, now: 9_000 })).toEqual([
      'fib-1',
      'box · 42',
      '3 / 8',
      '12.3',
      '4.20 ms',
      '3',
      '7',
      '0 s ago',
    ]);
  });
});
