import { FibonacciRpcClient, isRpcError, RpcClient } from '@stomp-rpc/client';
import { Header, queueDeclarationHeaders, queueDestination } from '@stomp-rpc/client/protocol';
import { describe, expect, it } from 'vitest';
import {
  BROKER_URL,
  openClient,
  openRawConnection,
  rejectionCode,
  startServer,
  uniqueQueue,
  until,
} from '../../../test/support.js';

describe('call', () => {
  it('call - resolves fib(30) to 832040n', async () => {
    const queue = uniqueQueue('fib30');
    await startServer(queue);
    const client = openClient(queue);
    await expect(client.call(30)).resolves.toBe(832040n);
  });

  it('call - is exact past 2^53: fib(90) and the 209 digits of fib(1000)', async () => {
    const queue = uniqueQueue('exact');
    await startServer(queue);
    const client = openClient(queue);
    expect(await client.call(90)).toBe(2880067194370816120n);
    const fib1000 = await client.call(1000n);
    expect(fib1000.toString()).toHaveLength(209);
    expect(fib1000 % 1_000_000n).toBe(228875n);
  });

  it('call - matches 500 concurrent calls on one connection to their own replies', async () => {
    const queue = uniqueQueue('concurrent');
    await startServer(queue, { prefetch: 50 });
    const client = openClient(queue);
    const ns = Array.from({ length: 500 }, (_, i) => (i * 7) % 300);
    const results = await Promise.all(ns.map((n) => client.call(n)));
    const expected = new Map<number, bigint>([[0, 0n]]);
    let [previous, current] = [0n, 1n];
    for (let n = 1; n < 300; n++) {
      expected.set(n, current);
      [previous, current] = [current, previous + current];
    }
    expect(results).toEqual(ns.map((n) => expected.get(n)));
    expect(client.stats).toMatchObject({ calls: 500, succeeded: 500, pending: 0, droppedReplies: 0 });
  });

  it('call - rejects invalid n with INVALID_ARGUMENT before sending anything', async () => {
    const client = openClient(uniqueQueue('local-invalid'));
    for (const n of [-1, 1.5, Number.NaN, '030', '-3', ' 7', -1n]) {
      expect(await rejectionCode(client.call(n))).toBe('INVALID_ARGUMENT');
    }
    expect(client.stats.calls).toBe(0);
  });

  it('call - gets INVALID_ARGUMENT from the server for n above its maximum, and the server goes on', async () => {
    const queue = uniqueQueue('max-n');
    await startServer(queue, { handler: (await import('@stomp-rpc/server')).fibonacciHandler({ maxN: 100 }) });
    const client = openClient(queue);
    const error = await client.call(101).catch((thrown: unknown) => thrown);
    expect(isRpcError(error) && error.code).toBe('INVALID_ARGUMENT');
    expect(isRpcError(error) && error.remote).toBe(true);
    expect((error as Error).message).toContain('at most 100');
    await expect(client.call(100)).resolves.toBe(354224848179261915075n);
  });

  it('call - with presence off, rejects with TIMEOUT when none consumes the queue, leaving nothing pending', async () => {
    const client = openClient(uniqueQueue('no-server'), { presence: false });
    await client.ready(5000); // so that the request really goes out and waits for a server
    const started = Date.now();
    // Room for the broker's RECEIPT: one later than the deadline would make it OVERLOADED.
    expect(await rejectionCode(client.call(30, { timeoutMs: 1000 }))).toBe('TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(client.stats).toMatchObject({ pending: 0, errors: { TIMEOUT: 1 } });
  });

  it('call - TIMEOUT stack points at the calling code', async () => {
    const client = openClient(uniqueQueue('stack'), { presence: false });
    // Room for the broker's RECEIPT, as above: the error is TIMEOUT, not OVERLOADED.
    const error = await client.call(1, { timeoutMs: 1000 }).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: 'TIMEOUT' });
    expect((error as Error).stack).toContain('call.test.ts');
  });

  it('call - a server error reply becomes an RpcError with the server’s code', async () => {
    const queue = uniqueQueue('throws');
    await startServer(queue, {
      handler: () => {
        throw new Error('disk on fire');
      },
    });
    const client = openClient(queue);
    const error = await client.call(5).catch((thrown: unknown) => thrown);
    expect(isRpcError(error) && error.code).toBe('INTERNAL');
    expect((error as Error).message).toBe('disk on fire');
  });

  it('call - drops and counts a second reply to the same request', async () => {
    const queue = uniqueQueue('twice');
    const server = await openRawConnection();
    server.subscribe(
      queueDestination(queue),
      (message) => {
        const replyTo = message.headers[Header.replyTo] as string;
        const headers = { [Header.correlationId]: message.headers[Header.correlationId] as string };
        server.publish({ destination: replyTo, body: '8', headers });
        server.publish({ destination: replyTo, body: '8', headers });
        message.ack();
      },
      { ack: 'client-individual', ...queueDeclarationHeaders() },
    );
    const client = openClient(queue); // the hand-made server does not announce itself; the defaults send anyway
    await expect(client.call(6)).resolves.toBe(8n);
    await until(() => client.stats.droppedReplies === 1, 5000, 'the duplicate reply');
    expect(client.stats.pending).toBe(0);
  });

  it('call - a reply that is not a number rejects with BAD_REPLY', async () => {
    const queue = uniqueQueue('bad-reply');
    await startServer(queue, { handler: () => 'forty-two' });
    const client = openClient(queue);
    expect(await rejectionCode(client.call(3))).toBe('BAD_REPLY');
  });

  it('request - carries any body and headers for services other than Fibonacci', async () => {
    const queue = uniqueQueue('generic');
    await startServer(queue, { handler: (request) => `${request.body.toUpperCase()}:${request.headers['x-tenant']}` });
    const client = new RpcClient({ url: BROKER_URL });
    try {
      const reply = await client.request(queueDestination(queue), 'hello', {
        headers: { ...queueDeclarationHeaders(), 'x-tenant': 'acme' },
      });
      expect(reply.body).toBe('HELLO:acme');
      expect(reply.headers[Header.correlationId]).toBeTypeOf('string');
    } finally {
      await client.close();
    }
  });
});

describe('connection', () => {
  it('ready - rejects with UNAUTHENTICATED when the broker refuses the login', async () => {
    const client = openClient(uniqueQueue('auth'), { passcode: 'not-the-password' });
    expect(await rejectionCode(client.ready(5000))).toBe('UNAUTHENTICATED');
  });

  it('call - rejects at once with UNAUTHENTICATED instead of waiting for its deadline', async () => {
    const client = openClient(uniqueQueue('auth-call'), { passcode: 'not-the-password' });
    const started = Date.now();
    expect(await rejectionCode(client.call(1, { timeoutMs: 10_000 }))).toBe('UNAUTHENTICATED');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('ready - rejects with UNAVAILABLE, naming the cause, when nothing listens at the URL', async () => {
    const client = openClient(uniqueQueue('refused'), { url: 'ws://127.0.0.1:9/ws', reconnectDelayMs: 50 });
    const error = await client.ready(500).catch((thrown: unknown) => thrown);
    expect(isRpcError(error) && error.code).toBe('UNAVAILABLE');
    expect((error as Error).message).toContain('ECONNREFUSED');
  });

  it('failover - connects through the second URL when the first refuses', async () => {
    const queue = uniqueQueue('failover');
    await startServer(queue);
    const client = openClient(queue, { url: ['ws://127.0.0.1:9/ws', BROKER_URL], reconnectDelayMs: 20 });
    await expect(client.call(10)).resolves.toBe(55n);
    expect(client.url).toBe(BROKER_URL);
  });

  it('fatal error - a request the broker kills the connection for ends with its reason, not a hang', async () => {
    const queue = uniqueQueue('fatal');
    await startServer(queue);
    const client = new RpcClient({ url: BROKER_URL, reconnectDelayMs: 50 });
    try {
      await client.ready(5000);
      // A durable declaration of a non-durable queue: precondition_failed, and RabbitMQ 3.10 closes
      // the Web-STOMP socket without delivering the ERROR frame ("STOMP died").
      const once = await client
        .request(queueDestination(queue), '1', { headers: queueDeclarationHeaders({ durable: true }) })
        .catch((thrown: unknown) => thrown);
      expect(isRpcError(once) && once.code).toBe('CONNECTION_LOST');
      expect((once as Error).message).toContain('fatal STOMP error');

      // Sent again after every reconnect, an idempotent call times out carrying the same reason.
      const retried = await client
        .request(queueDestination(queue), '1', {
          headers: queueDeclarationHeaders({ durable: true }),
          idempotent: true,
          timeoutMs: 1500,
        })
        .catch((thrown: unknown) => thrown);
      expect(isRpcError(retried) && retried.code).toBe('TIMEOUT');
      expect((retried as Error).message).toContain('fatal STOMP error');

      // The client itself is fine: a valid request still works.
      await expect(
        client.request(queueDestination(queue), '7', { headers: queueDeclarationHeaders() }),
      ).resolves.toMatchObject({ body: '13' });
    } finally {
      await client.close();
    }
  });

  it('close - rejects pending calls with CLOSED and refuses new ones', async () => {
    const client = openClient(uniqueQueue('close'));
    await client.ready(5000);
    const pending = rejectionCode(client.call(30, { timeoutMs: 10_000 }));
    await client.close();
    expect(await pending).toBe('CLOSED');
    expect(await rejectionCode(client.call(1))).toBe('CLOSED');
    expect(client.state).toBe('closed');
    expect(client.stats.pending).toBe(0);
  });

  it('close - a Fibonacci client on a shared RpcClient refuses every kind of call once closed; the shared one goes on', async () => {
    const queue = uniqueQueue('close-shared');
    await startServer(queue);
    const shared = new RpcClient({ url: BROKER_URL });
    try {
      const fib = new FibonacciRpcClient({ client: shared, queue });
      await fib.close();
      const raw = () => fib.request(queueDestination(queue), '7', { headers: queueDeclarationHeaders() });
      expect(await rejectionCode(fib.call(7))).toBe('CLOSED');
      expect(await rejectionCode(raw())).toBe('CLOSED');
      expect(await rejectionCode(fib.sequence(1, 2).next())).toBe('CLOSED'); // at the first read, as a call
      expect((await shared.request(queueDestination(queue), '7', { headers: queueDeclarationHeaders() })).body).toBe(
        '13',
      );
    } finally {
      await shared.close();
    }
  });
});
