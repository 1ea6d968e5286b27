// How a call ends on the client's side: at its deadline, on abort, and with nothing left behind
// once settled. Against the real broker, each bounded in time.

import { setMaxListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { openClient, queueDepth, rejectionCode, startServer, uniqueQueue, until } from './support.js';

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
}

describe('deadlines and cancellation', () => {
  it('no server - a call nothing answers ends with NO_SERVERS at its deadline, and its request does not linger', async () => {
    const queue = uniqueQueue('no-server');
    const client = openClient(queue);
    await client.ready(5000); // so the deadline leaves room to ask who is there, and hear the RECEIPT
    expect(await rejectionCode(client.call(30, { timeoutMs: 1500 }))).toBe('NO_SERVERS');
    // The request carried its deadline as a per-message TTL: the broker drops it.
    await until(async () => (await queueDepth(queue)) === 0, 5000, 'the expired request to leave the queue');
  });

  it('abort - rejects at once with ABORTED and frees the call', async () => {
    const client = openClient(uniqueQueue('abort'));
    await client.ready(5000);
    const controller = new AbortController();
    const outcome = rejectionCode(client.call(30, { signal: controller.signal, timeoutMs: 20_000 }));
    controller.abort(new Error('the user left the page'));
    expect(await outcome).toBe('ABORTED');
    expect(client.stats).toMatchObject({ pending: 0, errors: { ABORTED: 1 } });
  });

  it('abort - an already aborted signal rejects without sending anything', async () => {
    const client = openClient(uniqueQueue('pre-aborted'));
    expect(await rejectionCode(client.call(30, { signal: AbortSignal.abort() }))).toBe('ABORTED');
    expect(client.stats.calls).toBe(0);
  });

  // Also a regression test: with client-to-broker heart-beats on, RabbitMQ 3.10 killed a connection
  // that sent a burst this large (see stomp-connection.ts).
  it('leaks - 10,000 settled calls (answered, timed out, aborted) leave no pending entry or per-call timer', async () => {
    const queue = uniqueQueue('leaks');
    await startServer(queue, { prefetch: 200 });
    const client = openClient(queue);
    // Without receipts: under this burst the broker may confirm a request later than its 200 ms
    // deadline, which would make it OVERLOADED instead of TIMEOUT. Without presence: a client that
    // knows no server would call these NO_SERVERS.
    const silent = openClient(uniqueQueue('leaks-nobody'), { presence: false, confirmRequests: false });
    await Promise.all([client.ready(5000), silent.ready(5000)]);
    const baseline = activeTimers();

    const answered = Array.from({ length: 8000 }, (_, i) => client.call(i % 100));
    const timedOut = Array.from({ length: 1000 }, () => rejectionCode(silent.call(1, { timeoutMs: 200 })));
    const controller = new AbortController();
    setMaxListeners(1000, controller.signal); // as README says: 1,000 calls in flight on one signal
    const aborted = Array.from({ length: 1000 }, () => rejectionCode(silent.call(1, { signal: controller.signal })));
    controller.abort();

    expect((await Promise.all(answered)).length).toBe(8000);
    expect(new Set(await Promise.all(timedOut))).toEqual(new Set(['TIMEOUT']));
    expect(new Set(await Promise.all(aborted))).toEqual(new Set(['ABORTED']));
    expect(client.stats).toMatchObject({ pending: 0, succeeded: 8000 });
    expect(silent.stats).toMatchObject({ pending: 0, errors: { TIMEOUT: 1000, ABORTED: 1000 } });
    // A leak leaves a timer per call: thousands. The count also moves by one or two with the
    // clients' own periodic timers: a keepalive being re-armed, or, on a loaded machine, a server the
    // client learned of by probing a slow call, whose silence it then watches for (a CI run: 8 -> 9).
    expect(activeTimers()).toBeLessThanOrEqual(baseline + 5);
  });
});
