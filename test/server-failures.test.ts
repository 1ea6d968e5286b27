// Calls that never hang and never lie: each failure the tutorial leaves open, against the real
// broker, each bounded in time.
import { queueDeclarationHeaders, queueDestination } from '@stomp-rpc/client/protocol';
import amqp from 'amqplib';
import { describe, expect, it, onTestFinished } from 'vitest';
import { amqpUrl, freezeLocalBroker, restartLocalBroker } from '../scripts/broker.mjs';
import {
  openClient,
  openRawConnection,
  rejectionCode,
  spawnChild,
  startServer,
  uniqueQueue,
  until,
} from './support.js';

const SERVER_CLI = 'packages/server/dist/cli.js';

/** Messages waiting in `queue`, from an AMQP passive declare (exact, unlike management stats). */
async function queueDepth(queue: string): Promise<number> {
  const connection = await amqp.connect(amqpUrl());
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await connection.close();
  }
}

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
}

describe('deadlines and cancellation', () => {
  it('no server - a call told to wait for one ends with TIMEOUT at its deadline, and its request does not linger', async () => {
    const queue = uniqueQueue('no-server');
    const client = openClient(queue, { whenNoServers: 'wait' });
    expect(await rejectionCode(client.call(30, { timeoutMs: 400 }))).toBe('TIMEOUT');
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
  it('leaks - 10,000 settled calls (answered, timed out, aborted) leave no pending entry or timer', async () => {
    const queue = uniqueQueue('leaks');
    await startServer(queue, { prefetch: 200 });
    const client = openClient(queue);
    // Without receipts: under this burst the broker may confirm a request later than its 200 ms
    // deadline, which would make it OVERLOADED instead of TIMEOUT.
    const silent = openClient(uniqueQueue('leaks-nobody'), { whenNoServers: 'wait', confirmRequests: false });
    await Promise.all([client.ready(5000), silent.ready(5000)]);
    const baseline = activeTimers();

    const answered = Array.from({ length: 8000 }, (_, i) => client.call(i % 100));
    const timedOut = Array.from({ length: 1000 }, () => rejectionCode(silent.call(1, { timeoutMs: 200 })));
    const controller = new AbortController();
    const aborted = Array.from({ length: 1000 }, () => rejectionCode(silent.call(1, { signal: controller.signal })));
    controller.abort();

    expect((await Promise.all(answered)).length).toBe(8000);
    expect(new Set(await Promise.all(timedOut))).toEqual(new Set(['TIMEOUT']));
    expect(new Set(await Promise.all(aborted))).toEqual(new Set(['ABORTED']));
    expect(client.stats).toMatchObject({ pending: 0, succeeded: 8000 });
    expect(silent.stats).toMatchObject({ pending: 0, errors: { TIMEOUT: 1000, ABORTED: 1000 } });
    expect(activeTimers()).toBeLessThanOrEqual(baseline);
  });
});

describe('servers that fail', () => {
  it('SIGKILL - a server killed mid-request: another server answers and the caller gets one result', async () => {
    const queue = uniqueQueue('sigkill');
    const doomed = spawnChild(process.execPath, ['test/fixtures/holding-server.mjs'], { RPC_QUEUE: queue });
    await doomed.waitFor('ready');
    const client = openClient(queue);
    const result = client.call(25, { timeoutMs: 20_000 });
    await doomed.waitFor('holding 25');
    doomed.process.kill('SIGKILL');
    const survivor = await startServer(queue);
    expect(await result).toBe(75025n);
    expect(survivor.stats).toMatchObject({ requests: 1, succeeded: 1 });
    expect(client.stats).toMatchObject({ succeeded: 1, droppedReplies: 0, pending: 0 });
  });

  it('SIGTERM - a server stopped during a burst: every call gets exactly one answer', async () => {
    const queue = uniqueQueue('sigterm');
    const leaving = spawnChild(process.execPath, [SERVER_CLI, '--queue', queue, '--prefetch', '20']);
    await leaving.waitFor('awaiting RPC requests');
    const staying = await startServer(queue, { prefetch: 20 });
    const client = openClient(queue);

    const burst = Array.from({ length: 3000 }, (_, i) => client.call(i % 500, { timeoutMs: 20_000 }));
    await until(() => client.stats.succeeded >= 300, 10_000, 'the burst to get going');
    leaving.process.kill('SIGTERM');
    const results = await Promise.all(burst);

    expect(results.length).toBe(3000);
    expect(results[499]).toBe(
      86168291600238450732788312165664788095941068326060883324529903470149056115823592713458328176574447204501n,
    );
    expect(await leaving.exited()).toBe(0);
    expect(leaving.stdout()).toContain('"msg":"stopped"');
    expect(staying.stats.succeeded).toBeGreaterThan(0);
    expect(client.stats).toMatchObject({ succeeded: 3000, droppedReplies: 0, pending: 0 });
  });

  it('flood - malformed requests each get a clear error or are dropped; valid calls keep being answered', async () => {
    const queue = uniqueQueue('flood');
    const server = await startServer(queue, { prefetch: 10 });
    const raw = await openRawConnection();
    const client = openClient(queue);
    const destination = queueDestination(queue);
    const declare = queueDeclarationHeaders();
    const bodies = ['', 'abc', '-1', '1e9', '٣', '{"n":3}', '9'.repeat(5000), '\u0000\u0001\u00fe'];
    const hostileReplyTo = [undefined, '/queue/rpc_queue', '/topic/x', '/exchange/amq.direct/x', 'rpc_queue'];

    const valid: Promise<bigint>[] = [];
    let sent = 0;
    for (let round = 0; round < 20; round++) {
      for (const body of bodies) {
        // An honest reply-to with a correlation id nobody waits for: the error reply is dropped.
        raw.publish({
          destination,
          body,
          headers: { ...declare, 'reply-to': '/temp-queue/flood', 'correlation-id': `junk-${sent++}` },
        });
      }
      for (const replyTo of hostileReplyTo) {
        const headers: Record<string, string> = { ...declare, 'correlation-id': `hostile-${sent++}` };
        if (replyTo !== undefined) headers['reply-to'] = replyTo;
        raw.publish({ destination, body: '5', headers });
      }
      raw.publish({ destination, body: '5', headers: { ...declare, 'reply-to': '/temp-queue/flood' } });
      sent++;
      raw.publish({
        destination,
        body: 'x'.repeat(100_000), // above the server's 4 KiB limit, below Web-STOMP's 256 KiB frame limit
        headers: { ...declare, 'reply-to': '/temp-queue/flood', 'correlation-id': `huge-${sent}` },
      });
      sent++;
      valid.push(client.call(round + 10));
    }

    const results = await Promise.all(valid);
    expect(results[0]).toBe(55n);
    await until(() => server.stats.requests === sent + valid.length, 10_000, 'every request to be handled');
    expect(server.stats).toMatchObject({
      succeeded: valid.length,
      // no reply-to, a refused reply-to, or no correlation-id
      dropped: 20 * (hostileReplyTo.length + 1),
      errors: { INVALID_ARGUMENT: 20 * (bodies.length + 1) },
      inFlight: 0,
    });
  });
});

describe('connection upkeep', () => {
  it('keepalive - an idle connection outlives Web-STOMP’s 60 s idle timeout', async () => {
    const queue = uniqueQueue('idle');
    await startServer(queue);
    const states: string[] = [];
    const client = openClient(queue, { onStateChange: (state) => states.push(state) });
    await client.ready(5000);
    await new Promise((resolve) => setTimeout(resolve, 65_000));
    expect(states).toEqual(['connected']);
    expect(client.stats.reconnects).toBe(0);
    await expect(client.call(12)).resolves.toBe(144n);
  }, 80_000);
});

describe('silent broker', () => {
  it('heartbeat - a broker that stops answering is dropped after two missed beats, then rejoined', async () => {
    const queue = uniqueQueue('frozen');
    await startServer(queue, { maxReconnectDelayMs: 500 });
    const reasons: string[] = [];
    const client = openClient(queue, {
      heartbeatMs: 500,
      maxReconnectDelayMs: 500,
      connectTimeoutMs: 1000,
      onStateChange: (state, reason) => {
        if (state === 'reconnecting') reasons.push(`${reason?.code}: ${reason?.message}`);
      },
    });
    await client.ready(5000);
    // RabbitMQ beats in whole seconds (it answers heart-beat:1000 to our 500), and stompjs checks
    // once per beat, dropping after two beats of silence: noticed 2 to 3 s into the freeze.
    await freezeLocalBroker(4500);
    expect(reasons[0]).toMatch(/^CONNECTION_LOST: no heart-beat from ws:/);
    await expect(client.call(20, { timeoutMs: 15_000 })).resolves.toBe(6765n);
    expect(client.stats.reconnects).toBeGreaterThanOrEqual(1);
  });
});

describe('broker restart', () => {
  it('restart - idempotent calls in flight complete after the reconnect; others get CONNECTION_LOST', async () => {
    const queue = uniqueQueue('restart');
    let open = false;
    const held: (() => void)[] = [];
    // Requests wait here until the restart is over, so both calls are in flight when it happens.
    const server = await startServer(queue, {
      prefetch: 2,
      maxReconnectDelayMs: 500,
      handler: (request) =>
        open
          ? String(Number(request.body) * 2)
          : new Promise<string>((resolve) => held.push(() => resolve(String(Number(request.body) * 2)))),
    });
    onTestFinished(() => {
      for (const release of held) release();
    });
    const states: string[] = [];
    const client = openClient(queue, { maxReconnectDelayMs: 500, onStateChange: (state) => states.push(state) });
    const generic = client.request(queueDestination(queue), '21', {
      headers: queueDeclarationHeaders(),
      timeoutMs: 30_000,
      idempotent: true,
    });
    const notIdempotent = rejectionCode(
      client.request(queueDestination(queue), '4', { headers: queueDeclarationHeaders(), timeoutMs: 30_000 }),
    );
    await until(() => held.length === 2, 5000, 'both requests to reach the server');

    await restartLocalBroker();
    open = true;
    // Made while the client is still reconnecting: it goes out once the client is back. The
    // server it knew still counts as live (it could not hear the beats meanwhile), so this is
    // not NO_SERVERS.
    const madeWhileReconnecting = client.call(7, { timeoutMs: 30_000 });

    expect(await madeWhileReconnecting).toBe(14n); // this test’s handler doubles n
    expect(await notIdempotent).toBe('CONNECTION_LOST');
    expect((await generic).body).toBe('42');
    expect(states[0]).toBe('connected');
    expect(states).toContain('reconnecting');
    expect(states.at(-1)).toBe('connected');
    expect(client.stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(client.stats.resent).toBeGreaterThanOrEqual(1);
    // The two deliveries from before the restart, finishing now, belong to a dead connection:
    // the server neither replies to nor ACKs them. Only the re-sent request counted as answered.
    for (const release of held) release();
    await until(() => server.stats.inFlight === 0, 5000, 'the held requests to finish');
    expect(server.stats.succeeded).toBe(2);
    await expect(client.call(10)).resolves.toBe(20n);
    expect(server.stats).toMatchObject({ succeeded: 3 });
    expect(server.stats.reconnects).toBeGreaterThanOrEqual(1);
  });
});
