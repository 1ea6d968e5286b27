import type { ProcedureStats, ServerInfo } from '@stomp-rpc/client';
import { describe, expect, it } from 'vitest';
import { procedureCells, procedureRows, totalErrors } from './procedure-stats.js';

function stats(overrides: Partial<ProcedureStats> = {}): ProcedureStats {
  return { requests: 0, succeeded: 0, errors: {}, cancelled: 0, processingMs: 0, ...overrides };
}

/** A server with the given per-procedure counters; only the fields the rows read matter. */
function server(id: string, procedures?: Record<string, ProcedureStats>): ServerInfo {
  return {
    id,
    host: 'box',
    pid: 42,
    version: '1.0.0',
    queue: 'rpc_queue',
    prefetch: 8,
    inFlight: 0,
    beatMs: 1000,
    startedAt: '2024-01-01T00:00:00.000Z',
    lastSeen: 10_000,
    announcedAt: 10_000,
    stats: {
      requests: 0,
      succeeded: 0,
      errors: {},
      dropped: 0,
      processingMs: { total: 0, average: 0 },
      latency: { boundsMs: [], counts: [0], count: 0, sumMs: 0, maxMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0 },
      ...(procedures ? { procedures } : {}),
    },
  };
}

describe('procedure-stats', () => {
  it('totalErrors - sums over the codes', () => {
    expect(totalErrors({})).toBe(0);
    expect(totalErrors({ INVALID_ARGUMENT: 2, DEADLINE_EXCEEDED: 1 })).toBe(3);
  });

  it('procedureCells - counts, and the mean time over the answered requests', () => {
    const sequence = stats({
      requests: 4,
      succeeded: 3,
      errors: { INVALID_ARGUMENT: 1 },
      cancelled: 2,
      processingMs: 4200,
    });
    expect(procedureCells('fib-1', 'fibSequence', sequence)).toEqual(['fib-1', 'fibSequence', '4', '1', '2', '1.05 s']);
  });

  it('procedureCells - no mean before an answer, even with cancelled requests', () => {
    expect(procedureCells('fib-1', 'fibSequence', stats({ cancelled: 1 }))).toEqual([
      'fib-1',
      'fibSequence',
      '0',
      '0',
      '1',
      '–',
    ]);
  });

  it('procedureRows - by server id, then procedure name; servers without procedures add none', () => {
    const rows = procedureRows([
      server('fib-2', {
        fibSequence: stats({ requests: 1, processingMs: 2 }),
        fib: stats({ requests: 2, processingMs: 1 }),
      }),
      server('fib-old'),
      server('fib-1', { fib: stats() }),
    ]);
    expect(rows.map(({ server, procedure }) => `${server} ${procedure}`)).toEqual([
      'fib-1 fib',
      'fib-2 fib',
      'fib-2 fibSequence',
    ]);
    expect(rows[1]?.cells).toEqual(['fib-2', 'fib', '2', '0', '0', '0.50 ms']);
  });
});
