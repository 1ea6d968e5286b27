// Broker-side limits: a full queue under a reject-publish policy refuses requests (OVERLOADED),
// and Web-STOMP caps the size of a frame (servers keep their replies under it).
import {
  type FibonacciClientOptions,
  isRpcError,
  RpcClient,
  type RpcClientOptions,
  type RpcError,
} from '@stomp-rpc/client';
import { queueDeclarationHeaders, queueDestination } from '@stomp-rpc/client/protocol';
import { fibonacciHandler } from '@stomp-rpc/server';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openWire } from './stomp-wire.js';
import { BROKER_URL, management, openClient, queueDepth, startServer, uniqueQueue, until } from './support.js';

describe('limits', () => {
  /** A queue capped at 5 messages with reject-publish, and a server that holds what it takes until released, then answers at once. */
  async function overloadedQueue(label: string, clientOptions: FibonacciClientOptions = {}) {
    const queue = uniqueQueue(label);
    // RabbitMQ ignores x-overflow sent as a STOMP header; only a policy sets it. Same shape as
    // rpc-queue-limits in definitions.json, smaller.
    const policy = `test-${label}-${process.pid}`;
    await management('PUT', `/policies/%2F/${policy}`, {
      pattern: `^${queue.replaceAll('.', '\\.')}$`,
      'apply-to': 'queues',
      definition: { 'max-length': 5, overflow: 'reject-publish' },
    });
    onTestFinished(async () => {
      await management('DELETE', `/policies/%2F/${policy}`);
    });
    const held: (() => void)[] = [];
    let released = false;
    await startServer(queue, {
      prefetch: 1, // the server takes one request at a time, so the queue fills behind it
      handler: (request) =>
        released ? request.body : new Promise<string>((resolve) => held.push(() => resolve(request.body))),
    });
    const client = openClient(queue, { watchServers: true, ...clientOptions });
    await client.ready(5000);
    await until(() => client.servers(queue).length === 1, 5000, 'the server to be known');
    /** The queue full behind the one request the server holds: requests sent so far that are not in it were refused. */
    const full = async () => {
      await until(() => held.length === 1, 5000, 'the server to take one request');
      await until(async () => (await queueDepth(queue)) === 5, 5000, 'the queue to fill');
    };
    const releaseAfterFirst = async () => {
      await full();
      // The broker handles a connection's frames in order: the ones after the fifth in the queue,
      // received with it, are refused within moments of it; this leaves them ample time.
      await new Promise((resolve) => setTimeout(resolve, 300));
      released = true;
      for (const release of held.splice(0)) release();
    };
    const outcome = (call: Promise<unknown>) =>
      call.then(
        () => 'answered',
        (error: unknown) => (isRpcError(error) ? error.code : String(error)),
      );
    return { client, full, releaseAfterFirst, outcome };
  }

  it('overload - a queue full under a reject-publish policy: refused requests end with OVERLOADED, accepted ones are answered', async () => {
    const { client, releaseAfterFirst, outcome } = await overloadedQueue('overload');
    const started = Date.now();
    // Not idempotent, so a refused request is never sent again.
    const outcomes = Array.from({ length: 20 }, (_, i) =>
      outcome(client.call(i, { timeoutMs: 2000, idempotent: false })),
    );
    await releaseAfterFirst();
    const codes = await Promise.all(outcomes);
    // 1 in the server's hands + 5 in the queue are accepted; the other 14 are refused by the broker.
    expect(codes.filter((code) => code === 'OVERLOADED')).toHaveLength(14);
    expect(codes.filter((code) => code === 'answered')).toHaveLength(6);
    expect(Date.now() - started).toBeLessThan(2000 + 1500); // learned within the deadline, not never
  });

  it('overload - past the stuck-connection check, the calls the broker accepted keep their replies and the refused one still ends with OVERLOADED', async () => {
    // Four re-send waits (here 4 × 250 ms) of a refused request and silence look like a stuck
    // connection; remaking it would lose the replies of the calls in the queue.
    const { client, full, releaseAfterFirst, outcome } = await overloadedQueue('overload-long', {
      resendUnconfirmedMs: 250,
    });
    const accepted = Array.from({ length: 6 }, (_, i) =>
      outcome(client.call(i, { timeoutMs: 8000, idempotent: false })),
    );
    await full(); // one in the server's hands, five in the queue
    const refused = outcome(client.call(99, { timeoutMs: 6000, idempotent: false }));
    await new Promise((resolve) => setTimeout(resolve, 2000)); // past the check (about 1.3 s)
    await releaseAfterFirst();
    expect(await Promise.all(accepted)).toEqual(Array(6).fill('answered'));
    expect(await refused).toBe('OVERLOADED');
  });

  it('overload - a refused idempotent request is sent again while unconfirmed, and answered once the queue has room', async () => {
    const { client, releaseAfterFirst, outcome } = await overloadedQueue('overload-resend');
    // 1 in the server's hands + 5 in the queue; the 7th is refused.
    const outcomes = Array.from({ length: 7 }, (_, i) => outcome(client.call(i, { timeoutMs: 8000 })));
    await releaseAfterFirst();
    // The server now answers at once, and the refused request goes again after 1 s.
    expect(await Promise.all(outcomes)).toEqual(Array(7).fill('answered'));
    expect(client.stats.resent).toBeGreaterThanOrEqual(1);
  });

  it('frames - Web-STOMP closes a connection that sends a frame above 256 KiB; fib(1,000,000) (209 KB) still fits', async () => {
    const wire = await openWire();
    expect(await wire.attempt('SEND', { destination: '/topic/frame-test' }, 'x'.repeat(200_000))).toBe('accepted');
    wire.send('SEND', { destination: '/topic/frame-test' }, 'x'.repeat(16 * 1024 * 1024));
    // 1009 "message too big", or 1006 when the broker drops the socket while the frame streams in.
    expect([1006, 1009]).toContain(await wire.closed);

    const queue = uniqueQueue('frames');
    await startServer(queue);
    const client = openClient(queue);
    expect((await client.call(1_000_000, { timeoutMs: 20_000 })).toString().length).toBe(208_988);
  });

  /** Answers with the body's length, a moment later: a call made first is still out when a large one is refused. */
  const bodyLengthServer = (queue: string) =>
    startServer(queue, {
      maxBodyBytes: 512 * 1024,
      handler: async (request) => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        return String(request.body.length);
      },
    });

  it('frames - a request over maxRequestBytes is INVALID_ARGUMENT, unsent, and the calls on the connection go on; with the bound raised past the broker’s, the broker’s close is named', async () => {
    const queue = uniqueQueue('large-request');
    await bodyLengthServer(queue);
    const open = (options: RpcClientOptions = {}) => {
      const client = new RpcClient({ url: BROKER_URL, ...options });
      onTestFinished(() => client.close());
      return client;
    };
    const send = (client: RpcClient, body: string) =>
      client.request(queueDestination(queue), body, { headers: queueDeclarationHeaders(), timeoutMs: 5000 }).then(
        (reply) => reply.body,
        (error: unknown) => (isRpcError(error) ? `${error.code}: ${error.message}` : String(error)),
      );

    const client = open();
    await client.ready(5000);
    const first = send(client, 'x'.repeat(100_000));
    expect(await send(client, 'x'.repeat(260_000))).toMatch(
      /^INVALID_ARGUMENT: the request is 26\d{4} bytes, over maxRequestBytes \(253952\)/,
    );
    expect(await send(client, 'x'.repeat(250_000))).toBe('250000'); // under the bound, with our headers under the broker's
    expect(await first).toBe('100000');
    expect(client.stats.reconnects).toBe(0);

    // Past the broker's 256 KiB frame limit, the broker closes the connection with 1009 ("message
    // too big"; 1006 if it drops the socket while the frame still streams in, as the test above allows).
    // The request fails, with the close named as its cause (below: an idempotent one is not sent again).
    const raised = open({ maxRequestBytes: 1024 * 1024 });
    await raised.ready(5000);
    const failure = await raised
      .request(queueDestination(queue), 'x'.repeat(300_000), { headers: queueDeclarationHeaders(), timeoutMs: 5000 })
      .catch((error: unknown) => error);
    const { code, message, cause } = failure as RpcError;
    expect(`${code}: ${message} <- ${(cause as Error | undefined)?.message}`).toMatch(
      /^(INVALID_ARGUMENT: the broker closed the connection on this request .* <- .* closed the connection on a frame over its size limit \(WebSocket close 1009\)|CONNECTION_LOST: .*WebSocket closed with code 1006)/,
    );
  });

  it('frames - maxRequestBytes raised past the broker’s limit: an idempotent request the broker refuses fails once, not sent again until its deadline, and the calls out with it are answered', async () => {
    const queue = uniqueQueue('refused-request');
    await bodyLengthServer(queue);
    const client = new RpcClient({ url: BROKER_URL, maxRequestBytes: 1024 * 1024 });
    onTestFinished(() => client.close());
    await client.ready(5000);
    const send = (length: number) =>
      client
        .request(queueDestination(queue), 'x'.repeat(length), {
          headers: queueDeclarationHeaders(),
          timeoutMs: 10_000,
          idempotent: true,
        })
        .then(
          (reply) => reply.body,
          (error: unknown) => (isRpcError(error) ? `${error.code}: ${error.message}` : String(error)),
        );
    const first = send(100_000);
    // Once the broker's close is a 1009 (a 1006 teaches nothing, and the request goes out again).
    expect(await send(300_000)).toMatch(
      /^INVALID_ARGUMENT: the broker closed the connection on this request \(300\d{3} bytes\), over its frame limit: it is not sent again/,
    );
    expect(await first).toBe('100000'); // sent again on the next connection
    await client.ready(5000); // reconnected, whether or not the answer came on the old connection
    const reconnects = client.stats.reconnects;
    expect(reconnects).toBeGreaterThanOrEqual(1);
    expect(await send(300_000)).toMatch(
      /^INVALID_ARGUMENT: the request is 300\d{3} bytes, over the client's request limit \(300\d{3}, lowered from its maxRequestBytes 1048576/,
    );
    expect(await send(250_000)).toBe('250000');
    expect(client.stats.reconnects).toBe(reconnects);
  });

  it('frames - maxReplyBytes raised past the broker’s limit: the reply the broker refuses, redelivered, is INTERNAL, not a loop that closes every server’s connection', async () => {
    const queue = uniqueQueue('refused-reply');
    const errors: string[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (_: unknown, message: string) => errors.push(message) };
    const server = await startServer(queue, {
      maxReplyBytes: 1024 * 1024,
      handler: (request) => 'x'.repeat(Number(request.body)),
      logger,
    });
    const client = new RpcClient({ url: BROKER_URL });
    onTestFinished(() => client.close());
    const send = (length: number) =>
      client
        .request(queueDestination(queue), String(length), { headers: queueDeclarationHeaders(), timeoutMs: 10_000 })
        .then(
          (reply) => `${reply.body.length} characters`,
          (error: unknown) => (isRpcError(error) ? `${error.code}: ${error.message}` : String(error)),
        );
    expect(await send(250_000)).toBe('250000 characters');
    // The broker closes the server's connection on the reply; the request comes back (once more
    // should the close have reached the server as 1006, which teaches nothing), and is refused.
    expect(await send(300_000)).toBe(
      "INTERNAL: the reply is 300000 bytes, over the server's reply limit (299999, lowered from its maxReplyBytes 1048576 when the broker refused a larger frame)",
    );
    expect(errors).toContainEqual(
      expect.stringContaining('the broker closed the connection on a frame over its size limit'),
    );
    expect(server.stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(await send(250_000)).toBe('250000 characters');
  });

  it('frames - a reply over the server’s maxReplyBytes is INTERNAL at its caller, and the server keeps its connection', async () => {
    // fib(1,300,000) has 271,684 digits: as a frame it would close the server's connection, and
    // the request, redelivered, would close the next one's.
    const queue = uniqueQueue('large-reply');
    const server = await startServer(queue, { handler: fibonacciHandler({ maxN: 2_000_000 }) });
    const client = openClient(queue);
    const failure = await client.call(1_300_000, { timeoutMs: 20_000 }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('maxReplyBytes') });
    expect(await client.call(30)).toBe(832040n);
    expect(server.stats).toMatchObject({ reconnects: 0, errors: { INTERNAL: 1 } });
  });
});
