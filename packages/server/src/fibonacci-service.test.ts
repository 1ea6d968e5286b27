import { isRpcError, RpcError } from '@stomp-rpc/client';
import { describe, expect, it, vi } from 'vitest';
import {
  CACHE_ENTRY_OVERHEAD_BYTES,
  FibonacciCache,
  fibonacciHandler,
  MAX_N_LIMIT,
  parseN,
} from './fibonacci-service.js';

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return isRpcError(error) ? error.code : 'not an RpcError';
  }
  return undefined;
}

describe('parseN', () => {
  it('reads canonical decimal up to the maximum', () => {
    expect(parseN('0', 10)).toBe(0);
    expect(parseN('30', 1000)).toBe(30);
    expect(parseN('1000000', 1_000_000)).toBe(1_000_000);
  });

  it.each([
    ['', 'empty'],
    ['-1', 'negative'],
    ['+5', 'signed'],
    ['1e3', 'exponent'],
    ['030', 'leading zero'],
    [' 30', 'whitespace'],
    ['30\n', 'trailing newline'],
    ['3.0', 'fraction'],
    ['٣٠', 'Arabic-Indic digits'],
    ['{"n":30}', 'JSON'],
    ['abc', 'words'],
  ])('rejects %j (%s) with INVALID_ARGUMENT', (body) => {
    expect(codeOf(() => parseN(body, 1000))).toBe('INVALID_ARGUMENT');
  });

  it('rejects n above the maximum, however many digits it has', () => {
    expect(codeOf(() => parseN('1001', 1000))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => parseN('9'.repeat(400), 1000))).toBe('INVALID_ARGUMENT');
  });

  it('keeps long bodies out of the message', () => {
    try {
      parseN('x'.repeat(10_000), 1000);
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(120);
    }
    expect.assertions(1);
  });
});

describe('FibonacciCache', () => {
  const entry = (digits: number) => '1'.repeat(digits);
  const cost = (digits: number) => digits + CACHE_ENTRY_OVERHEAD_BYTES;

  it('never holds more bytes than its bound, dropping the least recently used first', () => {
    const cache = new FibonacciCache(3 * cost(100));
    cache.set(1, entry(100));
    cache.set(2, entry(100));
    cache.set(3, entry(100));
    expect(cache.get(1)).toBe(entry(100)); // 1 is now the most recently used
    cache.set(4, entry(100));
    expect(cache.get(2)).toBeUndefined();
    expect([1, 3, 4].map((n) => cache.get(n) !== undefined)).toEqual([true, true, true]);
    expect(cache.bytes).toBe(3 * cost(100));
    cache.set(5, entry(250)); // needs the room of two entries
    expect(cache.size).toBe(2);
    expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);
  });

  it('does not keep an entry larger than the whole bound, and keeps nothing at 0', () => {
    const cache = new FibonacciCache(cost(10));
    cache.set(1, entry(11));
    expect(cache.size).toBe(0);
    const off = new FibonacciCache(0);
    off.set(1, '1');
    expect(off.get(1)).toBeUndefined();
  });

  it('rejects a bound that is not a byte count', () => {
    expect(codeOf(() => new FibonacciCache(-1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new FibonacciCache(1.5))).toBe('INVALID_ARGUMENT');
  });
});

/** A pool whose computations finish when the test says so. */
function manualPool() {
  const jobs: { n: number; deadline: number; resolve: (decimal: string) => void; reject: (e: unknown) => void }[] = [];
  return {
    jobs,
    compute: (n: number, deadline = Number.POSITIVE_INFINITY) =>
      new Promise<string>((resolve, reject) => {
        jobs.push({ n, deadline, resolve, reject });
      }),
  };
}

/** A manual pool whose jobs reject with the signal's reason when it aborts, as WorkerPool's do. */
function stoppablePool() {
  const pool = manualPool();
  return {
    jobs: pool.jobs,
    compute: (n: number, deadline = Number.POSITIVE_INFINITY, signal?: AbortSignal) => {
      const result = pool.compute(n, deadline);
      const job = pool.jobs.at(-1);
      signal?.addEventListener('abort', () => job?.reject(signal.reason), { once: true });
      return result;
    },
  };
}

const request = (n: number, deadline = Number.POSITIVE_INFINITY, signal = new AbortController().signal) => ({
  body: String(n),
  headers: {},
  correlationId: 'c',
  deadline,
  procedure: undefined,
  signal,
});

/** A request for fib(n) whose signal aborts at its deadline, `ms` from now (on fake timers), as the server's does. */
function requestWithin(n: number, ms: number) {
  const control = new AbortController();
  setTimeout(() => control.abort(new RpcError('DEADLINE_EXCEEDED', 'too late')), ms);
  return request(n, Date.now() + ms, control.signal);
}

describe('fibonacciHandler', () => {
  it('fibSequence - a server with a lower maxN serves no sequence past it', async () => {
    const handler = fibonacciHandler({ maxN: 100 });
    const sequence = (to: number) =>
      handler({ ...request(0), procedure: 'fibSequence', body: `{"from":98,"to":${to}}` });
    await expect(async () => sequence(101)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'n must be at most 100, got to = 101',
    });
    const items: string[] = [];
    for await (const item of (await sequence(100)) as AsyncIterable<string>) items.push(item);
    expect(items).toHaveLength(3);
  });

  it('answers fib(n) in decimal, inline for small n', async () => {
    const handler = fibonacciHandler();
    expect(await handler(request(30))).toBe('832040');
    expect(await handler(request(30))).toBe('832040'); // from the cache
  });

  it('computes concurrent requests for the same large n once, and repeated n never again', async () => {
    const pool = manualPool();
    const handler = fibonacciHandler({ pool, inlineMaxN: 10 });
    const answers = Promise.all([handler(request(50)), handler(request(50)), handler(request(50))]);
    expect(pool.jobs.map((job) => job.n)).toEqual([50]);
    pool.jobs[0]?.resolve('12586269025');
    expect(await answers).toEqual(['12586269025', '12586269025', '12586269025']);
    expect(await handler(request(50))).toBe('12586269025');
    expect(pool.jobs.length).toBe(1);
  });

  it('does not cache failures: the next request computes again', async () => {
    const pool = manualPool();
    const handler = fibonacciHandler({ pool, inlineMaxN: 10 });
    const failed = handler(request(60));
    pool.jobs[0]?.reject(new RpcError('INTERNAL', 'worker died'));
    await expect(failed).rejects.toMatchObject({ code: 'INTERNAL' });
    const retried = handler(request(60));
    expect(pool.jobs.length).toBe(2);
    pool.jobs[1]?.resolve('1548008755920');
    expect(await retried).toBe('1548008755920');
  });

  // Regression: the shared computation had its starter's deadline, so the pool skipped it then; a
  // joiner computed again once, but a second joiner with a later deadline still got
  // DEADLINE_EXCEEDED from the restarted one, seconds before its own.
  it('a shared computation outlives the deadlines of the requests that left it: the last one waiting gets the value', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const pool = stoppablePool();
      const handler = fibonacciHandler({ pool, inlineMaxN: 10 });
      const outcomes = Promise.allSettled([100, 400, 10_000].map((ms) => handler(requestWithin(70, ms))));
      expect(pool.jobs.map((job) => job.deadline)).toEqual([Number.POSITIVE_INFINITY]); // its own: none
      await vi.advanceTimersByTimeAsync(600); // the first two leave
      pool.jobs[0]?.resolve('190392490709135');
      const settled = (await outcomes).map((outcome) =>
        outcome.status === 'fulfilled' ? outcome.value : outcome.reason.code,
      );
      expect(settled).toEqual(['DEADLINE_EXCEEDED', 'DEADLINE_EXCEEDED', '190392490709135']);
      expect(pool.jobs).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  // Regression: the joiner's own deadline timer fires at the deadline's very millisecond, where a
  // clock check (now > deadline) still saw time left, and a new computation started for nobody.
  it('a joiner whose own deadline ends the shared computation stops it and starts no other', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const pool = stoppablePool();
      const handler = fibonacciHandler({ pool, inlineMaxN: 10 });
      // Both are awaited from the start: they reject while the timers advance.
      const outcomes = Promise.allSettled([handler(requestWithin(50, 100)), handler(requestWithin(50, 200))]);
      await vi.advanceTimersByTimeAsync(100); // the starter gives up: the joiner still waits
      await vi.advanceTimersByTimeAsync(100); // the joiner's deadline: nobody waits any more
      const codes = (await outcomes).map((outcome) => outcome.status === 'rejected' && outcome.reason.code);
      expect(codes).toEqual(['DEADLINE_EXCEEDED', 'DEADLINE_EXCEEDED']);
      expect(pool.jobs).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  // Regression: the flight left the map only a turn after its stop, so a request for the same n in
  // the same socket read as the last waiter's cancel joined it and got that caller's ABORTED.
  it('single flight - a request arriving in the turn the last waiter cancelled starts a computation of its own', async () => {
    const pool = stoppablePool();
    const handler = fibonacciHandler({ pool, inlineMaxN: 10 });
    const cancel = new AbortController();
    const cancelled = handler(request(50, Number.POSITIVE_INFINITY, cancel.signal));
    cancel.abort(new RpcError('ABORTED', 'the caller cancelled'));
    const next = handler(request(50));
    await expect(cancelled).rejects.toMatchObject({ code: 'ABORTED' });
    expect(pool.jobs.length).toBe(2);
    // The stopped computation's end must not take the new one off the map: a third request joins it.
    const third = handler(request(50));
    expect(pool.jobs.length).toBe(2);
    pool.jobs[1]?.resolve('12586269025');
    expect(await Promise.all([next, third])).toEqual(['12586269025', '12586269025']);
  });

  it("options - a maxN over MAX_N_LIMIT (whose fib(n) would near V8's BigInt limit) is INVALID_ARGUMENT", () => {
    expect(codeOf(() => fibonacciHandler({ maxN: MAX_N_LIMIT + 1 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => fibonacciHandler({ maxN: Number.MAX_SAFE_INTEGER }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => fibonacciHandler({ maxN: MAX_N_LIMIT }))).toBeUndefined();
    expect(MAX_N_LIMIT).toBe(100_000_000);
  });

  it('turns the cache off with cacheBytes 0', async () => {
    const pool = manualPool();
    const handler = fibonacciHandler({ pool, inlineMaxN: 10, cacheBytes: 0 });
    const first = handler(request(50));
    pool.jobs[0]?.resolve('12586269025');
    await first;
    void handler(request(50));
    expect(pool.jobs.length).toBe(2);
  });
});
