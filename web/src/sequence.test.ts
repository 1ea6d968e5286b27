import { MAX_SEQUENCE_LENGTH } from '@stomp-rpc/client';
import { describe, expect, it } from 'vitest';
import { itemCells, readRange, STREAM_MARGIN_MS, sequenceSummary, sequenceTimeoutMs } from './sequence.js';

describe('sequence', () => {
  it('readRange - reads the fields as numbers', () => {
    expect(readRange(' 10', '20 ', '100')).toEqual({ from: 10, to: 20, pauseMs: 100 });
  });

  it('readRange - INVALID_ARGUMENT for from > to, blank fields, too many items or a long pause', () => {
    for (const [from, to, pauseMs] of [
      ['20', '10', '0'],
      ['', '10', '0'],
      ['0', '10', ''],
      ['1.5', '10', '0'],
      ['0', String(MAX_SEQUENCE_LENGTH), '0'],
      ['0', '10', '5000'],
    ] as const) {
      expect(() => readRange(from, to, pauseMs), `${from}..${to} pause ${pauseMs}`).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });

  it('sequenceTimeoutMs - every pause between the items twice (one replay after a reconnect), and the margin', () => {
    expect(sequenceTimeoutMs({ from: 10, to: 20, pauseMs: 100 })).toBe(2000 + STREAM_MARGIN_MS);
    expect(sequenceTimeoutMs({ from: 5, to: 5, pauseMs: 1000 })).toBe(STREAM_MARGIN_MS);
  });

  it('itemCells - short values whole, long ones folded to 12 digits each side, with the digit count', () => {
    expect(itemCells({ n: 20, value: 6765n })).toEqual(['20', '6765', '4 digits']);
    const long = BigInt(`123456789012${'0'.repeat(100)}987654321098`);
    expect(itemCells({ n: 600, value: long })).toEqual(['600', '123456789012…987654321098', '124 digits']);
  });

  it('sequenceSummary - says how far it got in each state', () => {
    const progress = { received: 3, expected: 11, elapsedMs: 1020 };
    expect(sequenceSummary({ ...progress, state: 'running' })).toBe('streaming: 3 of 11 items');
    expect(sequenceSummary({ ...progress, received: 11, state: 'done' })).toBe('done: 11 of 11 items in 1.02 s');
    expect(sequenceSummary({ ...progress, state: 'stopped' })).toBe(
      'stopped after 3 of 11 items (1.02 s): the server was told to stop',
    );
    // With no item yet, nothing says the request had even been sent.
    expect(sequenceSummary({ ...progress, received: 0, state: 'stopped' })).toBe(
      'stopped before the first of 11 items (1.02 s)',
    );
    expect(sequenceSummary({ ...progress, state: 'failed' })).toBe('failed after 3 of 11 items');
    expect(sequenceSummary({ received: 0, expected: 0, elapsedMs: 0, state: 'failed' })).toBe(
      'not started: see the error below',
    );
    expect(sequenceSummary({ received: 1, expected: 1, elapsedMs: 4, state: 'done' })).toBe(
      'done: 1 of 1 item in 4.00 ms',
    );
  });
});
