import { isRpcError, RpcError } from '@stomp-rpc/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fibonacci } from './fibonacci.js';
import { WorkerPool } from './worker-pool.js';

const pools: WorkerPool[] = [];
function openPool(options: ConstructorParameters<typeof WorkerPool>[0] = {}): WorkerPool {
  const pool = new WorkerPool(options);
  pools.push(pool);
  return pool;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isRpcError(error) ? error.code : String(error);
  }
  return undefined;
}

describe('WorkerPool', () => {
  it('computes the same numbers as the event loop would, many at once', async () => {
    const pool = openPool({ size: 2 });
    const ns = [0, 1, 2, 90, 1000, 25_000, 50_000, 7, 30_000];
    const results = await Promise.all(ns.map((n) => pool.compute(n)));
    expect(results).toEqual(ns.map((n) => fibonacci(n).toString()));
  });

  it('fails the job of a worker that dies with INTERNAL, says so, replaces the worker and goes on', async () => {
    const died: Error[] = [];
    const pool = openPool({
      size: 1,
      workerUrl: new URL('../test/fixtures/crashing-worker.mjs', import.meta.url),
      onWorkerDied: (cause) => died.push(cause),
    });
    const doomed = pool.compute(13);
    const queued = pool.compute(20);
    expect(await codeOf(doomed)).toBe('INTERNAL');
    await expect(queued).resolves.toBe('6765');
    expect(pool.replaced).toBe(1);
    expect(died).toHaveLength(1);
    await expect(pool.compute(30)).resolves.toBe('832040');
  });

  it('skips a job whose deadline passed while it waited, with DEADLINE_EXCEEDED', async () => {
    const pool = openPool({ size: 1 });
    const busy = pool.compute(300_000);
    const late = pool.compute(10, Date.now() - 1);
    expect(await codeOf(late)).toBe('DEADLINE_EXCEEDED');
    await expect(busy).resolves.toHaveLength(62_696);
  });

  it('a step of the system clock back while a job waits gives it no more time', async () => {
    const pool = openPool({ size: 1 });
    const busy = pool.compute(300_000);
    const late = pool.compute(10, Date.now() + 5); // due before the busy job ends
    vi.setSystemTime(Date.now() - 3_600_000); // NTP correcting the clock: only Date moves
    try {
      expect(await codeOf(late)).toBe('DEADLINE_EXCEEDED');
    } finally {
      vi.useRealTimers();
    }
    await expect(busy).resolves.toHaveLength(62_696);
  });

  it('gives up on workers that cannot even start, instead of replacing them forever, and computes on the event loop', async () => {
    const gaveUp: Error[] = [];
    const pool = openPool({
      size: 3, // the others' deaths after the give-up do not give up again
      workerUrl: new URL('../test/fixtures/no-such-worker.mjs', import.meta.url),
      onGiveUp: (cause) => gaveUp.push(cause),
    });
    // Each death fails the job its worker held (it may be what killed it), up to the give-up.
    const early = await Promise.all(Array.from({ length: 10 }, () => codeOf(pool.compute(25_000))));
    expect(early.every((code) => code === 'INTERNAL' || code === undefined)).toBe(true);
    expect(early.filter((code) => code === 'INTERNAL').length).toBeLessThanOrEqual(8);
    await expect(pool.compute(25_000)).resolves.toBe(fibonacci(25_000).toString());
    expect(pool.gaveUp).toBe(true);
    expect(gaveUp).toHaveLength(1);
    expect(pool.replaced).toBeLessThanOrEqual(5);
    expect(await codeOf(pool.compute(10, Date.now() - 1))).toBe('DEADLINE_EXCEEDED');
    // One per turn, and a job cancelled while it waits is not computed.
    const cancel = new AbortController();
    const first = pool.compute(30);
    const dropped = codeOf(pool.compute(40, Number.POSITIVE_INFINITY, cancel.signal));
    cancel.abort();
    expect(await first).toBe('832040');
    expect(await dropped).toBe('ABORTED');
  });

  it('given up - the workers still alive end too, an idle one at once, a busy one once its job is done: nothing would use them', async () => {
    const atGiveUp: Array<{ size: number; busy: number }> = [];
    const pool = openPool({
      size: 3,
      workerUrl: new URL('../test/fixtures/crashing-worker.mjs', import.meta.url), // dies on 13, n = 14 takes 500 ms
      onGiveUp: () => atGiveUp.push({ size: pool.size, busy: pool.busy }),
    });
    for (let i = 0; i < 5; i++) expect(await codeOf(pool.compute(13))).toBe('INTERNAL');
    expect(pool.gaveUp).toBe(false);
    const slow = pool.compute(14); // one worker busy through the give-up
    expect(await codeOf(pool.compute(13))).toBe('INTERNAL'); // the sixth death in a row: given up
    expect(pool.gaveUp).toBe(true);
    expect(atGiveUp).toEqual([{ size: 2, busy: 1 }]); // and one idle
    await expect(slow).resolves.toBe('377');
    await vi.waitFor(() => expect(pool.size).toBe(0), { timeout: 3000, interval: 20 });
    expect(pool.busy).toBe(0);
    await expect(pool.compute(20)).resolves.toBe('6765'); // on the event loop
  });

  // Regression: a throw on the event loop left its job unsettled, the queue stalled, and escaped
  // setImmediate as an uncaught exception.
  it('given up - a computation that throws fails its job with INTERNAL, and the jobs queued behind it are computed', async () => {
    const pool = openPool({ size: 1, workerUrl: new URL('../test/fixtures/no-such-worker.mjs', import.meta.url) });
    for (let i = 0; i < 10 && !pool.gaveUp; i++) await codeOf(pool.compute(25_000));
    expect(pool.gaveUp).toBe(true);
    const failing = pool.compute(2 ** 53); // fibonacci() refuses it, as V8 refuses a BigInt over its limit
    const queued = pool.compute(30);
    expect(await codeOf(failing)).toBe('INTERNAL');
    await expect(queued).resolves.toBe('832040');
  });

  it('rejects jobs after close with INTERNAL', async () => {
    const pool = openPool({ size: 1 });
    await pool.close();
    expect(await codeOf(pool.compute(5))).toBe('INTERNAL');
  });

  it('cancel - a waiting job is dropped, a running one has its worker terminated and replaced; neither is a death', async () => {
    const died: Error[] = [];
    const pool = openPool({ size: 1, onWorkerDied: (cause) => died.push(cause) });
    const running = new AbortController();
    const waiting = new AbortController();
    const big = pool.compute(1_000_000, Number.POSITIVE_INFINITY, running.signal); // ~50 ms of work
    const queued = pool.compute(999_999, Number.POSITIVE_INFINITY, waiting.signal);
    expect({ size: pool.size, busy: pool.busy, waiting: pool.waiting }).toEqual({ size: 1, busy: 1, waiting: 1 });
    waiting.abort(new RpcError('ABORTED', 'the caller cancelled'));
    expect(await codeOf(queued)).toBe('ABORTED');
    running.abort(new RpcError('DEADLINE_EXCEEDED', 'too late'));
    expect(pool.busy).toBe(1); // its worker, being terminated, takes no job yet
    expect(await codeOf(big)).toBe('DEADLINE_EXCEEDED');
    expect(pool.cancelled).toBe(2);
    await expect(pool.compute(30)).resolves.toBe('832040'); // the replacement worker
    expect({ size: pool.size, busy: pool.busy, waiting: pool.waiting }).toEqual({ size: 1, busy: 0, waiting: 0 });
    expect(pool.replaced).toBe(0);
    expect(died).toEqual([]);
    const late = new AbortController();
    late.abort();
    expect(await codeOf(pool.compute(10, Number.POSITIVE_INFINITY, late.signal))).toBe('ABORTED');
  });
});
