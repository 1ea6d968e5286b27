// Servers that fail: killed mid-request, stopped during a burst, flooded with malformed requests,
// their queue deleted under them or declared otherwise. Every call still gets exactly one answer,
// each case bounded in time.
import { RpcError } from '@stomp-rpc/client';
import { queueDeclarationHeaders, queueDestination } from '@stomp-rpc/client/protocol';
import { fibonacciHandler, RpcServer } from '@stomp-rpc/server';
import amqp from 'amqplib';
import { describe, expect, it, onTestFinished } from 'vitest';
import { amqpUrl } from '../scripts/broker.mjs';
import {
  BROKER_URL,
  openClient,
  openRawConnection,
  rejectionCode,
  spawnChild,
  startServer,
  uniqueQueue,
  until,
} from './support.js';

const SERVER_CLI = 'packages/server/dist/cli.js';

/** How many consume `queue`, by a passive declare: the test must not create the queue itself. */
async function consumerCount(connection: amqp.ChannelModel, queue: string): Promise<number> {
  const probe = await connection.createChannel();
  probe.on('error', () => {}); // a missing queue closes the channel
  try {
    return (await probe.checkQueue(queue)).consumerCount;
  } catch {
    return 0;
  } finally {
    await probe.close().catch(() => {});
  }
}

describe('servers that fail', () => {
  it('queue deleted - the broker cancels the server’s subscription; it reconnects, declares the queue again and answers', async () => {
    const queue = uniqueQueue('deleted');
    const server = await startServer(queue);
    const client = openClient(queue);
    expect(await client.call(10)).toBe(55n);
    const connection = await amqp.connect(amqpUrl());
    onTestFinished(() => connection.close());
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
    // "Server cancelled subscription": without a new subscription the server would consume nothing.
    // The client's connection declared the queue before and will not again (the broker declares a
    // /queue/ destination once per connection): only the server's new subscription can.
    await until(() => server.stats.reconnects >= 1, 10_000, 'the server to reconnect');
    await until(
      async () => (await consumerCount(connection, queue)) === 1,
      10_000,
      'the queue to be declared and consumed again',
    );
    expect(await client.call(11)).toBe(89n);
  });

  it('declared otherwise - a server whose queue exists with other arguments logs the declaration it sent as an error, and start() gives up saying so', async () => {
    const queue = uniqueQueue('declared');
    const client = openClient(queue);
    await startServer(queue); // declares it as the tutorial does: not durable
    const errors: string[] = [];
    const logger = {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: (fields: { reason?: string }, message: string) => errors.push(`${message}: ${fields.reason}`),
    };
    const durable = new RpcServer({
      url: BROKER_URL,
      queue,
      handler: fibonacciHandler(),
      logger,
      queueDeclaration: { durable: true },
    });
    onTestFinished(() => durable.stop(0));
    // The topics' SUBSCRIBEs, written just before, are named too when their RECEIPTs were lost with it.
    const refusal = `/queue/${queue} (declaring it durable:true, auto-delete:false, exclusive:false): RabbitMQ does so when, for example, ${queue} exists with other arguments`;
    await expect(durable.start(3000)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining(refusal),
    });
    // RabbitMQ 3.10's Web-STOMP closes the socket without the ERROR frame ("STOMP died").
    expect(errors[0]).toContain(
      `subscription refused; reconnecting: ${BROKER_URL} closed the connection as this server subscribed to `,
    );
    expect(errors[0]).toContain(refusal);
    expect(durable.stats.reconnects).toBeGreaterThanOrEqual(1); // it goes on trying
    expect(await client.call(10)).toBe(55n); // the queue and its first server are unharmed
  });

  it('stuck handler - one that ignores its signal and never ends is left at the deadline, so it holds back no other request', async () => {
    const queue = uniqueQueue('stuck');
    let stuck = 0;
    // prefetch 2: while the stuck request held the cumulative ACK, one more answered request would
    // fill the window and the broker would deliver nothing else to this server.
    await startServer(queue, {
      prefetch: 2,
      handler: (request) => {
        if (request.body === 'stuck') {
          stuck++;
          return new Promise<string>(() => {});
        }
        return request.body;
      },
    });
    const client = openClient(queue);
    await client.ready(5000); // a deadline spent connecting would say nothing of the stuck handler
    const call = (body: string, timeoutMs: number) =>
      client.request(queueDestination(queue), body, { headers: queueDeclarationHeaders(), timeoutMs });
    const stuckCall = call('stuck', 1500);
    expect((await call('one', 5000)).body).toBe('one');
    expect(await rejectionCode(stuckCall)).toBe('TIMEOUT');
    for (const body of ['two', 'three', 'four']) expect((await call(body, 5000)).body).toBe(body);
    expect(stuck).toBe(1); // left, not given back to the broker to be delivered again
  });

  it('given back - a request that goes back to the broker stops its handler: CONNECTION_LOST when the server’s connection dies, CLOSED when stop()’s grace ends', async () => {
    const queue = uniqueQueue('given-back');
    const reasons: string[] = [];
    let started = 0;
    const server = await startServer(queue, {
      // Waits for its signal only: without one, it would hold its request until the 30 s deadline.
      handler: (request) =>
        new Promise<string>((_, reject) => {
          started++;
          request.signal.addEventListener('abort', () => {
            reasons.push((request.signal.reason as RpcError).code);
            reject(request.signal.reason);
          });
        }),
    });
    const client = openClient(queue);
    const call = (body: string) =>
      client.request(queueDestination(queue), body, { headers: queueDeclarationHeaders(), timeoutMs: 30_000 });
    void call('first').catch(() => {});
    await until(() => started === 1, 5000, 'the handler to start');
    // Deleting the queue cancels the server's subscription; it reconnects, and the request it held
    // is the broker's again (here gone with its queue).
    const connection = await amqp.connect(amqpUrl());
    onTestFinished(() => connection.close());
    await (await connection.createChannel()).deleteQueue(queue);
    await until(() => reasons.length === 1, 5000, 'the handler’s signal after the connection died');
    expect(reasons).toEqual(['CONNECTION_LOST']);

    await until(async () => (await consumerCount(connection, queue)) === 1, 10_000, 'the server to consume again');
    void call('second').catch(() => {});
    await until(() => started === 2, 5000, 'the second handler to start');
    await server.stop(100); // the grace ends with the handler still at work
    expect(reasons).toEqual(['CONNECTION_LOST', 'CLOSED']);
    expect(server.stats.inFlight).toBe(0);
  });

  it('passed-on error - a handler that rethrows what its own call failed with (TIMEOUT) answers INTERNAL naming it: the caller does not take it for its own timeout', async () => {
    const queue = uniqueQueue('passed-on');
    const server = await startServer(queue, {
      handler: () => {
        throw new RpcError('TIMEOUT', 'no reply from /queue/inventory within 50 ms');
      },
    });
    const client = openClient(queue);
    await expect(client.call(5)).rejects.toMatchObject({
      code: 'INTERNAL',
      remote: true,
      message: 'TIMEOUT: no reply from /queue/inventory within 50 ms',
    });
    expect(server.stats.errors).toEqual({ INTERNAL: 1 }); // the server's own count: it sent INTERNAL
  });

  it('throwing observer - an application observer that throws does not end the server, and calls go on being answered', async () => {
    const queue = uniqueQueue('observer');
    let seen = 0;
    await startServer(queue, {
      observer: {
        requestDone: () => {
          seen++;
          throw new Error('a bug in the metrics code');
        },
      },
    });
    const client = openClient(queue);
    expect(await client.call(10)).toBe(55n);
    expect(await client.call(11)).toBe(89n);
    expect(seen).toBe(2);
  });

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

  // Regression: a NACK of the held requests freed the prefetch window while the subscription still
  // stood, and the broker delivered as many again to the closing server: each stop charged twice
  // the prefetch against a quorum queue's delivery limit (5 in the cluster's definitions).
  it('stop with a backlog - only the requests the server held go back, each charged one delivery', async () => {
    const queue = uniqueQueue('stop-backlog');
    const prefetch = 16;
    let held = 0;
    const server = await startServer(queue, {
      queueDeclaration: 'replicated', // a quorum queue counts deliveries
      prefetch,
      presenceMs: 0,
      handler: (request) =>
        new Promise<string>((_, reject) => {
          held++;
          request.signal.addEventListener('abort', () => reject(request.signal.reason));
        }),
    });
    const connection = await amqp.connect(amqpUrl());
    onTestFinished(() => connection.close());
    const channel = await connection.createChannel();
    onTestFinished(async () => {
      await server.stop(0); // first: a server still subscribed would declare the queue again
      await channel.deleteQueue(queue);
    });
    const { queue: replyTo } = await channel.assertQueue('', { exclusive: true });
    for (let i = 0; i < 200; i++) {
      channel.sendToQueue(queue, Buffer.from('10'), { replyTo, correlationId: `c${i}`, expiration: '60000' });
    }
    await until(() => held === prefetch, 10_000, 'the server to hold its prefetch');
    await server.stop(0);

    const charged: number[] = [];
    for (
      let message = await channel.get(queue, { noAck: true });
      message;
      message = await channel.get(queue, { noAck: true })
    ) {
      charged.push(Number(message.properties.headers?.['x-delivery-count'] ?? 0));
    }
    expect(charged).toHaveLength(200);
    expect(charged.filter((count) => count > 0)).toEqual(Array(prefetch).fill(1));
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
