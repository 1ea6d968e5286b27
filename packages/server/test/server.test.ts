import { isRpcError, RpcClient } from '@stomp-rpc/client';
import { Header, queueDeclarationHeaders, queueDestination } from '@stomp-rpc/client/protocol';
import { describe, expect, it } from 'vitest';
import { BROKER_URL, openClient, openRawConnection, startServer, uniqueQueue, until } from '../../../test/support.js';

describe('server', () => {
  it('servers - two servers share a burst of calls', async () => {
    const queue = uniqueQueue('two-servers');
    const first = await startServer(queue, { prefetch: 4 });
    const second = await startServer(queue, { prefetch: 4 });
    const client = openClient(queue);
    const burst = 400;
    const results = await Promise.all(Array.from({ length: burst }, (_, i) => client.call(i % 50)));
    expect(results.length).toBe(burst);
    expect(first.stats.succeeded + second.stats.succeeded).toBe(burst);
    // Round-robin with a small prefetch: each server takes a real share, not a token one.
    expect(first.stats.succeeded).toBeGreaterThan(burst / 5);
    expect(second.stats.succeeded).toBeGreaterThan(burst / 5);
  });

  it('server - ACKs and drops a request without reply-to, then keeps serving', async () => {
    const queue = uniqueQueue('no-reply-to');
    const server = await startServer(queue);
    const raw = await openRawConnection();
    raw.publish({ destination: queueDestination(queue), body: '5', headers: queueDeclarationHeaders() });
    await until(() => server.stats.dropped === 1, 5000, 'the request to be dropped');
    // prefetch is 1: had the dropped request not been ACKed, this call would never be delivered.
    await expect(openClient(queue).call(12)).resolves.toBe(144n);
  });

  it.each([
    ['the request queue itself', (queue: string) => `/queue/${queue}`],
    ['a topic', () => '/topic/stolen'],
    ['an exchange', () => '/exchange/amq.fanout'],
    ['a named queue through /reply-queue/', () => '/reply-queue/victim'],
  ])('server - refuses to reply into %s and answers nothing there', async (_label, target) => {
    const queue = uniqueQueue('hostile-reply-to');
    const server = await startServer(queue);
    const raw = await openRawConnection();
    const seen: string[] = [];
    await raw.subscribe('/topic/stolen', (message) => seen.push(message.body), {}).confirmed;
    raw.publish({
      destination: queueDestination(queue),
      body: '7',
      headers: { ...queueDeclarationHeaders(), [Header.replyTo]: target(queue), [Header.correlationId]: 'evil-1' },
    });
    await until(() => server.stats.dropped === 1, 5000, 'the request to be dropped');
    expect(server.stats).toMatchObject({ requests: 1, succeeded: 0, dropped: 1 });
    await expect(openClient(queue).call(7)).resolves.toBe(13n);
    // Checked after a later reply of the same server's came back: one sent to the topic would be here by now.
    expect(seen).toEqual([]);
  });

  it('server - answers an oversized body with INVALID_ARGUMENT without parsing it', async () => {
    const queue = uniqueQueue('oversized');
    const server = await startServer(queue, { maxBodyBytes: 64 });
    const client = new RpcClient({ url: BROKER_URL });
    try {
      const error = await client
        .request(queueDestination(queue), '1'.repeat(10_000), { headers: queueDeclarationHeaders() })
        .catch((thrown: unknown) => thrown);
      expect(isRpcError(error) && error.code).toBe('INVALID_ARGUMENT');
      expect((error as Error).message).toContain('limit is 64');
      expect(server.stats.errors).toEqual({ INVALID_ARGUMENT: 1 });
    } finally {
      await client.close();
    }
  });

  it.each(['', 'abc', '-4', '1e3', '\u0000\u00ff\u0001'])(
    'server - answers the request body %j with INVALID_ARGUMENT and goes on serving',
    async (body) => {
      const queue = uniqueQueue('invalid-body');
      await startServer(queue);
      const client = new RpcClient({ url: BROKER_URL });
      try {
        const error = await client
          .request(queueDestination(queue), body, { headers: queueDeclarationHeaders() })
          .catch((thrown: unknown) => thrown);
        expect(isRpcError(error) && error.code).toBe('INVALID_ARGUMENT');
      } finally {
        await client.close();
      }
      await expect(openClient(queue).call(20)).resolves.toBe(6765n);
    },
  );

  // Regression: start() after stop() armed the presence beat again, an interval nothing cleared.
  it('server - start after stop rejects with CLOSED and arms no timer', async () => {
    const server = await startServer(uniqueQueue('restart'), { presenceMs: 100 });
    await server.stop(1000);
    const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const before = timers();
    await expect(server.start(1000)).rejects.toMatchObject({ code: 'CLOSED' });
    expect(timers()).toBe(before);
  });

  it('server - stop lets the request in hand finish and reply', async () => {
    const queue = uniqueQueue('stop');
    let release: () => void = () => {};
    const server = await startServer(queue, {
      handler: () =>
        new Promise<string>((resolve) => {
          release = () => resolve('done');
        }),
    });
    const client = new RpcClient({ url: BROKER_URL });
    try {
      const reply = client.request(queueDestination(queue), '1', { headers: queueDeclarationHeaders() });
      await until(() => server.stats.inFlight === 1, 5000, 'the request to reach the handler');
      const stopped = server.stop(5000);
      release();
      await stopped;
      expect((await reply).body).toBe('done');
    } finally {
      await client.close();
    }
  });
});
