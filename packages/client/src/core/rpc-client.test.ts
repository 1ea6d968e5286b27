import { describe, expect, it } from 'vitest';
import { fakeClient as setup } from '../../test/fake-transport.js';
import { RpcError } from '../errors.js';
import { PING_TOPIC, PRESENCE_TOPIC, type ServerAnnouncement } from '../protocol/presence.js';
import { CANCEL_TOPIC, Header, queueDeclarationHeaders, REPLY_TO, StreamMark, servedBy } from '../protocol/wire.js';
import { isTraceparent } from '../trace-context.js';
import { EndReason } from '../transport/end-reason.js';
import { UNSAMPLED_PATIENCE_MS } from './request-confirmation.js';
import type { RequestOptions, StreamOptions } from './rpc-client.js';

function announcement(overrides: Partial<ServerAnnouncement> = {}): string {
  return JSON.stringify({ kind: 'pong', id: 'server-1', queue: 'q', beatMs: 1000, ...overrides });
}

/**
 * Has request confirmation (resendUnconfirmedMs 1000) send the unconfirmed requests again: a probe
 * after one wait, its RECEIPT showing the broker got to them, the re-send one doubled wait later.
 */
function resendUnconfirmed(
  clock: { advance(ms: number): void },
  transport: { receipt(receiptId: string): void },
): void {
  clock.advance(1000);
  transport.receipt('probe-1');
  clock.advance(1250);
}

/** Lets promise callbacks run: the client awaits before it uses the clock in discoverServers(). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Advances the clock in 50 ms steps, letting promise callbacks run after each (a wait that ends arms the next). */
async function advanceSettling(clock: { advance(ms: number): void }, ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 50) {
    clock.advance(Math.min(50, left));
    await settle();
  }
}

/** discoverServers(waitMs), watched: `ids` is undefined until it resolves, then the ids listed. */
function listing(client: { discoverServers(waitMs: number): Promise<{ id: string }[]> }, waitMs: number) {
  const seen: { ids: string[] | undefined } = { ids: undefined };
  void client.discoverServers(waitMs).then((servers) => {
    seen.ids = servers.map((server) => server.id);
  });
  return seen;
}

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('RpcClient request', () => {
  it('request - starts its transport and sends reply-to, correlation-id, expiration, traceparent, receipt and the servers’ default declaration', () => {
    const { client, transport } = setup({ timeoutMs: 5000 });
    expect(transport.started).toBe(true);
    transport.connect();
    void client.request('/queue/q', '30', { traceparent: TRACEPARENT, headers: { 'x-custom': 'yes' } });
    const [frame] = transport.requests();
    const correlationId = frame?.headers[Header.correlationId];
    expect(frame).toEqual({
      destination: '/queue/q',
      body: '30',
      headers: {
        'x-custom': 'yes',
        [Header.replyTo]: REPLY_TO,
        [Header.correlationId]: correlationId,
        [Header.expiration]: '5000',
        [Header.traceparent]: TRACEPARENT,
        [Header.receipt]: correlationId,
        ...queueDeclarationHeaders(),
      },
    });
    expect(correlationId).toEqual(expect.any(String));
  });

  // Regression: a request to /queue/<name> without `declare` had RabbitMQ declare the queue durable
  // (its default), and a queue our servers had declared (not durable, as the tutorial's) made it
  // close the connection, failing every call on it with CONNECTION_LOST.
  it('request - a /queue/ destination is declared as the servers declare it unless the call says otherwise; `{}` declares nothing', () => {
    const { client, transport } = setup();
    transport.connect();
    void client.request('/queue/a', '1');
    void client.request('/queue/b', '1', { declare: {} });
    void client.request('/queue/c', '1', { declare: queueDeclarationHeaders({ durable: true }) });
    void client.request('/exchange/rpc/a', '1');
    // Declared by the caller's own headers (on every request, as older code does): left as they say.
    void client.request('/queue/d', '1', { headers: { durable: 'true' } });
    const [a, b, c, exchange, d] = transport.requests();
    expect(a?.headers).toMatchObject({ durable: 'false', 'auto-delete': 'false', exclusive: 'false' });
    for (const frame of [b, exchange]) expect(frame?.headers).not.toHaveProperty('durable');
    expect(c?.headers).toMatchObject({ durable: 'true' });
    expect(d?.headers).toMatchObject({ durable: 'true' });
    expect(d?.headers).not.toHaveProperty('exclusive');
  });

  it("request - extra headers that would break the frame, or replace the destination or the client's own, are INVALID_ARGUMENT, and nothing is sent", async () => {
    const { client, transport } = setup();
    transport.connect();
    const refused: Array<Record<string, unknown>> = [
      { destination: '/topic/elsewhere' },
      { 'content-length': '3' },
      { transaction: 'tx-1' },
      { receipt: 'ping-1' },
      { 'reply-to': '/temp-queue/other' },
      { 'correlation-id': 'theirs' },
      { expiration: '1' },
      { 'x-a\n\nSEND\ndestination:/queue/other': 'v' },
      { 'x:y': 'v' },
      { 'x\\y': 'v' }, // RabbitMQ reads an escape in a name too: "\\y" would close the connection
      { '': 'v' },
      { 'x-count': 3 },
    ];
    for (const headers of refused) {
      const failure = client.request('/queue/q', '1', { headers: headers as Record<string, string> });
      await expect(failure, JSON.stringify(headers)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      const declared = client.request('/queue/q', '1', { declare: headers as Record<string, string> });
      await expect(declared, `declare ${JSON.stringify(headers)}`).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(transport.published).toEqual([]);
    void client.request('/queue/q', '1', {
      headers: { 'x-custom': 'a:b\nc', 'content-type': 'text/plain', priority: '5' },
    });
    expect(transport.requests()[0]?.headers).toMatchObject({
      'x-custom': 'a:b\nc',
      'content-type': 'text/plain',
      priority: '5',
    });
  });

  // Regression: the caller's objects were kept and read at the write (the end of the turn, and each
  // re-send), so reusing one headers object for the next call changed this one, and a
  // `destination` added afterwards redirected it, past every check.
  it('request - takes copies of headers and declare: changing them after the call changes nothing sent', () => {
    const turns: Array<() => void> = [];
    const { client, transport } = setup({}, (send) => turns.push(send));
    transport.connect();
    const headers: Record<string, string> = { tenant: 'a' };
    const declare: Record<string, string> = { durable: 'false' };
    void client.request('/queue/q', '1', { headers, declare });
    headers.tenant = 'b';
    headers.destination = '/queue/elsewhere';
    declare.durable = 'true';
    for (const send of turns.splice(0)) send();
    const [frame] = transport.requests();
    expect(frame?.destination).toBe('/queue/q');
    expect(frame?.headers).toMatchObject({ tenant: 'a', durable: 'false' });
    expect(frame?.headers).not.toHaveProperty('destination');
  });

  it('request - each call gets its own correlation id and, by default, no traceparent', () => {
    const { client, transport } = setup();
    transport.connect();
    void client.request('/queue/q', '1');
    void client.request('/queue/q', '2');
    const [first, second] = transport.requests();
    expect(first?.headers[Header.correlationId]).not.toBe(second?.headers[Header.correlationId]);
    expect(first?.headers).not.toHaveProperty(Header.traceparent);
  });

  it('request - with traceCalls, each call without a traceparent of its own gets a fresh one', () => {
    const { client, transport } = setup({ traceCalls: true });
    transport.connect();
    void client.request('/queue/q', '1');
    void client.request('/queue/q', '2');
    void client.request('/queue/q', '3', { traceparent: TRACEPARENT });
    const [first, second, third] = transport.requests();
    expect(isTraceparent(first?.headers[Header.traceparent] ?? '')).toBe(true);
    expect(first?.headers[Header.traceparent]).not.toBe(second?.headers[Header.traceparent]);
    expect(third?.headers[Header.traceparent]).toBe(TRACEPARENT);
  });

  it('request - declaration headers go with the first request to a destination on each connection only', () => {
    const { client, transport } = setup();
    const declare = { durable: 'false', 'auto-delete': 'false', exclusive: 'false' };
    transport.connect();
    const send = (destination: string, body: string) =>
      void client.request(destination, body, { declare }).catch(() => {}); // the drop ends 1-3
    send('/queue/q', '1');
    send('/queue/q', '2');
    send('/queue/other', '3');
    transport.disconnect();
    transport.connect();
    send('/queue/q', '4');
    const sent = transport.requests().map((frame) => ({ body: frame.body, declared: 'durable' in frame.headers }));
    expect(sent).toEqual([
      { body: '1', declared: true },
      { body: '2', declared: false },
      { body: '3', declared: true },
      { body: '4', declared: true },
    ]);
  });

  it('request - over maxRequestBytes (its destination, body and caller’s headers as the frame carries them) is INVALID_ARGUMENT, and nothing is sent', async () => {
    const { client, transport } = setup({ maxRequestBytes: 1000 });
    transport.connect();
    // '/topic/q' takes 8 of the 1,000 bytes (a '/queue/' destination would carry a declaration too).
    const over: Array<[string, RequestOptions]> = [
      ['x'.repeat(993), {}],
      ['é'.repeat(497), {}], // 497 units, 994 bytes of UTF-8
      ['€'.repeat(331), {}], // 993 bytes
      ['x'.repeat(900), { headers: { 'x-note': 'y'.repeat(87) } }],
      ['x'.repeat(900), { declare: { 'x-queue-type': 'z'.repeat(81) } }],
      ['x'.repeat(900), { headers: { 'x-note': ':'.repeat(50) } }], // escaped on the frame: 100 bytes
    ];
    for (const [body, options] of over) {
      const failure = client.request('/topic/q', body, options);
      await expect(failure, `${body.length} units, ${JSON.stringify(options)}`).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/^the request is 10\d\d bytes, over maxRequestBytes \(1000\)/),
      });
    }
    expect(transport.requests()).toEqual([]);
    void client.request('/topic/q', 'x'.repeat(992));
    void client.request('/topic/q', 'é'.repeat(496));
    void client.request('/topic/q', 'x'.repeat(900), { headers: { 'x-note': 'y'.repeat(86) } });
    void client.request('/topic/q', 'x'.repeat(900), { headers: { 'x-note': ':'.repeat(43) } });
    await settle();
    expect(transport.requests()).toHaveLength(4);
  });

  it('request - a maxRequestBytes that is not a whole number of at least 1 is INVALID_ARGUMENT', () => {
    for (const maxRequestBytes of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => setup({ maxRequestBytes }), String(maxRequestBytes)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });

  it('request - no receipt header when confirmRequests is off', () => {
    const { client, transport } = setup({ confirmRequests: false });
    transport.connect();
    void client.request('/queue/q', '1');
    expect(transport.requests()[0]?.headers).not.toHaveProperty(Header.receipt);
  });

  it('request - rejects a bad traceparent with INVALID_ARGUMENT without sending', async () => {
    const { client, transport } = setup();
    transport.connect();
    await expect(client.request('/queue/q', '1', { traceparent: 'nope' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(transport.requests()).toEqual([]);
  });

  it('request - a traceparent, a signal or idempotent of the wrong type (from JavaScript) is INVALID_ARGUMENT, and nothing is sent', async () => {
    const { client, transport } = setup();
    transport.connect();
    const wrong = [
      { traceparent: 123 },
      { signal: {} },
      { signal: 'abort' },
      { signal: { aborted: false } },
      // Regression: accepted, then the deadline's timer threw removing the listener (the call hung) and so did close().
      { signal: { aborted: false, addEventListener() {} } },
      { idempotent: 'false' }, // Regression: taken as true, so re-sent after a reconnect
    ];
    for (const options of wrong) {
      const failure = client.request('/queue/q', '1', options as unknown as RequestOptions);
      await expect(failure, JSON.stringify(options)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      const stream = client.stream('/queue/q', '1', options as unknown as StreamOptions);
      await expect(stream.next(), JSON.stringify(options)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await settle();
    expect(transport.requests()).toEqual([]);
    expect(client.stats.pending).toBe(0);
    // null is no signal, as for fetch()
    void client.request('/queue/q', '1', { signal: null } as unknown as RequestOptions);
    void client.stream('/queue/q', '1', { signal: null } as unknown as StreamOptions).next();
    await settle();
    expect(transport.requests()).toHaveLength(2);
  });

  it('reply - resolves with the body, who answered, its time and the latency', async () => {
    const { client, transport, clock } = setup();
    transport.connect();
    const reply = client.request('/queue/q', '30', { traceparent: TRACEPARENT });
    clock.advance(42);
    transport.deliver(
      {
        [Header.correlationId]: transport.onlyCorrelationId(),
        [Header.server]: 'server-1;7.000',
      },
      '832040',
    );
    await expect(reply).resolves.toMatchObject({
      body: '832040',
      server: 'server-1',
      serverMs: 7,
      latencyMs: 42,
      traceparent: TRACEPARENT,
    });
  });

  it('reply - without a server header, server and serverMs are undefined', async () => {
    const { client, transport } = setup();
    transport.connect();
    const reply = client.request('/queue/q', '30');
    transport.deliver({ [Header.correlationId]: transport.onlyCorrelationId() }, '1');
    const { server, serverMs } = await reply;
    expect({ server, serverMs }).toEqual({ server: undefined, serverMs: undefined });
  });

  it('reply - a server header without a valid time gives the server alone', async () => {
    const { client, transport } = setup();
    transport.connect();
    const reply = client.request('/queue/q', '30');
    transport.deliver({ [Header.correlationId]: transport.onlyCorrelationId(), [Header.server]: 'a;b;soon' }, '1');
    const { server, serverMs } = await reply;
    expect({ server, serverMs }).toEqual({ server: 'a;b', serverMs: undefined });
  });

  it('reply - an rpc-error-code reply rejects with that code, remote, the body as message', async () => {
    const { client, transport } = setup();
    transport.connect();
    const reply = client.request('/queue/q', '-1');
    transport.deliver(
      { [Header.correlationId]: transport.onlyCorrelationId(), [Header.errorCode]: 'INVALID_ARGUMENT' },
      'n must be at least 0',
    );
    const error = await reply.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RpcError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', remote: true, message: 'n must be at least 0' });
  });

  it('reply - one whose correlation id matches no call is dropped and counted', async () => {
    const { client, transport } = setup();
    transport.connect();
    const reply = client.request('/queue/q', '1');
    const correlationId = transport.onlyCorrelationId();
    transport.deliver({ [Header.correlationId]: 'someone-else' }, '2');
    transport.deliver({}, 'no correlation id');
    expect(client.stats.droppedReplies).toBe(2);
    transport.deliver({ [Header.correlationId]: correlationId }, '1');
    transport.deliver({ [Header.correlationId]: correlationId }, 'a duplicate');
    await expect(reply).resolves.toMatchObject({ body: '1' });
    expect(client.stats.droppedReplies).toBe(3);
  });

  it('abort - rejects with ABORTED; a signal aborted already rejects without sending', async () => {
    const { client, transport, clock } = setup();
    transport.connect();
    const controller = new AbortController();
    const reply = client.request('/queue/q', '1', { signal: controller.signal });
    controller.abort();
    await expect(reply).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(client.request('/queue/q', '2', { signal: controller.signal })).rejects.toMatchObject({
      code: 'ABORTED',
    });
    expect(transport.requests()).toHaveLength(1);
    expect(client.stats.pending).toBe(0);
    clock.advance(1000); // the sweep finds nothing pending and stops
    expect(clock.pendingTimers).toBe(0);
  });

  it('cancel - an aborted call that was sent is cancelled on the cancel topic, a timed-out one too (saying DEADLINE_EXCEEDED); one never sent is not', async () => {
    const { client, transport, clock } = setup();
    const unsent = new AbortController();
    const waiting = client.request('/queue/q', '0', { signal: unsent.signal });
    unsent.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
    transport.connect();
    const controller = new AbortController();
    const reply = client.request('/queue/q', '1', { signal: controller.signal });
    const correlationId = transport.onlyCorrelationId();
    controller.abort();
    await expect(reply).rejects.toMatchObject({ code: 'ABORTED' });
    const late = client.request('/queue/q', '2', { timeoutMs: 100 });
    const lateId = transport.lastCorrelationId();
    transport.receipt(lateId);
    clock.advance(100);
    await expect(late).rejects.toMatchObject({ code: 'TIMEOUT' });
    // The request may have waited in the queue: its server counts its whole expiration from delivery.
    const cancels = transport.published.filter((frame) => frame.destination === CANCEL_TOPIC);
    expect(cancels.map((frame) => [frame.headers[Header.correlationId], frame.headers[Header.errorCode]])).toEqual([
      [correlationId, undefined],
      [lateId, 'DEADLINE_EXCEEDED'],
    ]);
  });

  it('close - called twice, the second settles with the first, once the connection has closed', async () => {
    const { client, transport } = setup();
    transport.connect();
    let closed!: () => void;
    transport.closing = new Promise((resolve) => {
      closed = resolve;
    });
    const settled: string[] = [];
    void client.close().then(() => settled.push('first'));
    void client.close().then(() => settled.push('second'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toEqual([]);
    closed();
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toEqual(['first', 'second']);
  });

  it('cancel - with cancels false (no write access to the cancel topic) nothing is published for a call given up on', async () => {
    const { client, transport } = setup({ cancels: false });
    transport.connect();
    const controller = new AbortController();
    const reply = client.request('/queue/q', '1', { signal: controller.signal });
    controller.abort();
    await expect(reply).rejects.toMatchObject({ code: 'ABORTED' });
    const open = client.request('/queue/q', '2');
    await client.close();
    await expect(open).rejects.toMatchObject({ code: 'CLOSED' });
    expect(transport.requests()).toHaveLength(2);
    expect(transport.cancels()).toEqual([]);
  });

  it('cancel - close() cancels the calls out on the connection, and names this connection’s reply queue', async () => {
    const { client, transport } = setup();
    transport.connect();
    const out = client.request('/queue/q', '1');
    const correlationId = transport.onlyCorrelationId();
    await client.close();
    await expect(out).rejects.toMatchObject({ code: 'CLOSED' });
    expect(transport.cancels()).toEqual([correlationId]);
    const cancel = transport.published.find((frame) => frame.destination === CANCEL_TOPIC);
    expect(cancel?.headers).toEqual({ [Header.correlationId]: correlationId, [Header.replyTo]: REPLY_TO });
  });

  it('cancel - close() sends none for a call not out on this connection: its reply queue went with the last', async () => {
    const batches: (() => void)[] = [];
    const flush = () => {
      for (const send of batches.splice(0)) send();
    };
    const { client, transport } = setup({}, (send) => batches.push(send));
    transport.connect();
    const waiting = client.request('/queue/q', '1', { idempotent: true });
    flush();
    transport.disconnect();
    transport.connect(); // connected again; the request goes again at the end of the turn, not yet
    await client.close();
    flush();
    await expect(waiting).rejects.toMatchObject({ code: 'CLOSED' });
    expect(transport.cancels()).toEqual([]);
    expect(transport.requests()).toHaveLength(1);
  });
});

describe('RpcClient stream', () => {
  const streamEnd = (correlationId: string, sent: number) =>
    [
      { [Header.correlationId]: correlationId, [Header.stream]: StreamMark.end, [Header.sequence]: String(sent) },
      '',
    ] as const;
  const item = (correlationId: string, sequence: number, body: string) =>
    [
      { [Header.correlationId]: correlationId, [Header.stream]: StreamMark.item, [Header.sequence]: String(sequence) },
      body,
    ] as const;

  it('stream - yields the items in order, drops a copy of one (an idempotent call), and ends at the end mark', async () => {
    const { client, transport } = setup();
    transport.connect();
    const items = client.stream('/queue/q', 'range', { idempotent: true });
    const first = items.next();
    const correlationId = transport.onlyCorrelationId();
    transport.deliver(...item(correlationId, 0, 'a'));
    transport.deliver(...item(correlationId, 1, 'b'));
    transport.deliver(...item(correlationId, 0, 'a')); // a redelivered request's copy
    transport.deliver({ [Header.correlationId]: correlationId, [Header.stream]: StreamMark.end }, '');
    const bodies = [(await first).value?.body];
    for await (const reply of { [Symbol.asyncIterator]: () => items }) bodies.push(reply.body);
    expect(bodies).toEqual(['a', 'b']);
    expect(client.stats).toMatchObject({ succeeded: 1, droppedReplies: 1, pending: 0 });
  });

  it('stream - a call not idempotent whose stream starts again (redelivered to another server) ends with CONNECTION_LOST, unmixed', async () => {
    const { client, transport } = setup();
    transport.connect();
    const items = client.stream('/queue/q', 'restocks');
    const correlationId = transport.onlyCorrelationId();
    transport.deliver(...item(correlationId, 0, 'first server, 0'));
    transport.deliver(...item(correlationId, 1, 'first server, 1'));
    transport.deliver(...item(correlationId, 0, 'second server, 0'));
    transport.deliver(...item(correlationId, 1, 'second server, 1'));
    transport.deliver(...item(correlationId, 2, 'second server, 2'));
    expect((await items.next()).value?.body).toBe('first server, 0');
    expect((await items.next()).value?.body).toBe('first server, 1');
    await expect(items.next()).rejects.toMatchObject({
      code: 'CONNECTION_LOST',
      message: expect.stringContaining('not idempotent'),
    });
    expect((await items.next()).done).toBe(true);
    expect(client.stats).toMatchObject({ pending: 0, errors: { CONNECTION_LOST: 1 } });
    expect(transport.cancels()).toEqual([correlationId]); // the second server stops
  });

  // Regression: a second run that sent no item before its end was taken for the first run's end,
  // and a stream cut short by a lost server looked whole.
  it('stream - an end that counts fewer items than came is a restarted run’s: CONNECTION_LOST at once, no cancel (that run is done)', async () => {
    const { client, transport } = setup();
    transport.connect();
    const once = client.stream('/queue/q', 'restocks');
    const onceId = transport.onlyCorrelationId();
    for (let n = 0; n < 3; n++) transport.deliver(...item(onceId, n, String(n)));
    transport.deliver(...streamEnd(onceId, 0)); // the second server's run found nothing to send
    const read: string[] = [];
    await expect(
      (async () => {
        for await (const reply of { [Symbol.asyncIterator]: () => once }) read.push(reply.body);
      })(),
    ).rejects.toMatchObject({
      code: 'CONNECTION_LOST',
      message: expect.stringContaining('ended after 0 items, 3 had come'),
    });
    expect(read).toEqual(['0', '1', '2']); // the first run's, then the error: the stream is not whole
    // Regression: an idempotent stream's shorter end was dropped as a copy's, and the call hung
    // until its deadline, though it had been sent once: no copy could end it.
    const safe = client.stream('/queue/q', 'range', { idempotent: true });
    const safeId = transport.lastCorrelationId();
    for (let n = 0; n < 5; n++) transport.deliver(...item(safeId, n, String(n)));
    for (let n = 0; n < 3; n++) transport.deliver(...item(safeId, n, String(n))); // the new run's copies
    transport.deliver(...streamEnd(safeId, 3));
    for (let n = 0; n < 5; n++) await safe.next();
    await expect(safe.next()).rejects.toMatchObject({ code: 'CONNECTION_LOST' });
    const overcounted = client.stream('/queue/q', 'range');
    transport.deliver(...item(transport.lastCorrelationId(), 0, 'a'));
    transport.deliver(...streamEnd(transport.lastCorrelationId(), 2));
    await overcounted.next();
    await expect(overcounted.next()).rejects.toMatchObject({ code: 'BAD_REPLY' });
    const older = client.stream('/queue/q', 'range'); // a server that sends no count
    transport.deliver(...item(transport.lastCorrelationId(), 0, 'a'));
    transport.deliver({ [Header.correlationId]: transport.lastCorrelationId(), [Header.stream]: StreamMark.end });
    expect((await older.next()).value?.body).toBe('a');
    expect((await older.next()).done).toBe(true);
    expect(client.stats).toMatchObject({ succeeded: 1, errors: { CONNECTION_LOST: 2, BAD_REPLY: 1 } });
    expect(transport.cancels()).toEqual([]); // the runs that sent those ends are done, the others gone
  });

  it('stream - an idempotent call sent twice on this connection: the shorter copy’s end is dropped, the other ends it', async () => {
    const { client, transport, clock } = setup({ timeoutMs: 10_000, resendUnconfirmedMs: 1000 });
    transport.connect();
    const safe = client.stream('/queue/q', 'range', { idempotent: true });
    const safeId = transport.onlyCorrelationId();
    resendUnconfirmed(clock, transport); // the broker got to it and confirmed nothing: it goes again
    expect(client.stats.resent).toBe(1);
    for (let n = 0; n < 2; n++) transport.deliver(...item(safeId, n, String(n)));
    transport.deliver(...streamEnd(safeId, 1)); // a copy's run, shorter
    transport.deliver(...streamEnd(safeId, 2));
    const bodies: string[] = [];
    for await (const reply of { [Symbol.asyncIterator]: () => safe }) bodies.push(reply.body);
    expect(bodies).toEqual(['0', '1']);
    expect(client.stats).toMatchObject({ succeeded: 1, droppedReplies: 1 });
    expect(transport.cancels()).toEqual([safeId]); // sent twice: the other copy is told
  });

  it('stream - an error reply ends it with that error after the items before it', async () => {
    const { client, transport } = setup();
    transport.connect();
    const items = client.stream('/queue/q', 'range');
    const first = items.next();
    const correlationId = transport.onlyCorrelationId();
    transport.deliver(...item(correlationId, 0, 'a'));
    transport.deliver({ [Header.correlationId]: correlationId, [Header.errorCode]: 'INVALID_ARGUMENT' }, 'bad range');
    expect((await first).value?.body).toBe('a');
    await expect(items.next()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'bad range' });
    expect((await items.next()).done).toBe(true);
  });

  it('stream - bad limits reject at the first read with INVALID_ARGUMENT, as request() rejects, and send nothing', async () => {
    const { client, transport } = setup();
    transport.connect();
    const items = client.stream('/queue/q', 'range', { maxBytes: -1 }); // does not throw here
    await expect(items.next()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(transport.published).toEqual([]);
    expect(client.stats).toMatchObject({ calls: 0, errors: { INVALID_ARGUMENT: 1 } }); // as a call with a bad timeoutMs
  });

  it('stream - past maxItems it ends with LIMIT_EXCEEDED and cancels the call', async () => {
    const { client, transport } = setup();
    transport.connect();
    const items = client.stream('/queue/q', 'range', { maxItems: 2 });
    const correlationId = transport.onlyCorrelationId();
    for (let n = 0; n < 3; n++) transport.deliver(...item(correlationId, n, String(n)));
    expect((await items.next()).value?.body).toBe('0');
    expect((await items.next()).value?.body).toBe('1');
    await expect(items.next()).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(transport.cancels()).toEqual([correlationId]);
    expect(client.stats.pending).toBe(0);
    expect(client.stats.errors).toEqual({ LIMIT_EXCEEDED: 1 }); // not counted as ABORTED as well
  });

  // Regression (after the end): the abort listener was gone with the call, and the reader got every item left.
  it.each([
    ['before the end', false],
    ['after the end came, before it was read', true],
  ])(
    'stream - its caller aborting %s ends it at once with ABORTED: the items that came are dropped, not read',
    async (_when, ended) => {
      const { client, transport } = setup();
      transport.connect();
      const caller = new AbortController();
      const items = client.stream('/queue/q', 'range', { signal: caller.signal });
      const correlationId = transport.onlyCorrelationId();
      for (let n = 0; n < 3; n++) transport.deliver(...item(correlationId, n, String(n)));
      if (ended) transport.deliver({ [Header.correlationId]: correlationId, [Header.stream]: StreamMark.end });
      expect((await items.next()).value?.body).toBe('0');
      caller.abort();
      await expect(items.next()).rejects.toMatchObject({ code: 'ABORTED' });
      expect((await items.next()).done).toBe(true);
      expect(client.stats).toMatchObject({ succeeded: 0, errors: { ABORTED: 1 } });
      expect(transport.cancels()).toEqual(ended ? [] : [correlationId]); // once ended, the server had finished
    },
  );

  it('stream - throw() with an RpcError ends the call with it (counted so, the server told); with anything else the call is aborted', async () => {
    const { client, transport } = setup();
    transport.connect();
    const refuse = (error: Error) => expect(client.stream('/queue/q', 'range').throw?.(error)).rejects.toBe(error);
    await refuse(new RpcError('BAD_REPLY', 'an item nobody can read'));
    await refuse(new Error('the reader itself failed'));
    // Whatever the error says: passed on from another call (remote, a deadline's), the reader refused.
    await refuse(new RpcError('TIMEOUT', 'a lookup timed out', { remote: true }));
    expect(client.stats.errors).toEqual({ BAD_REPLY: 1, ABORTED: 1, TIMEOUT: 1 });
    expect(transport.cancels()).toHaveLength(3);
  });

  // Regression: throw() resolved as done, so an outer generator delegating to the stream went on
  // after its `yield*` as though the stream had ended, and the caller's error was lost.
  it('stream - an outer generator delegating with yield* and thrown into stops there: the error reaches its caller, the call is aborted', async () => {
    const { client, transport } = setup();
    transport.connect();
    let after = false;
    async function* outer() {
      yield* client.stream('/queue/q', 'range');
      after = true;
    }
    const generator = outer();
    const first = generator.next();
    const id = transport.onlyCorrelationId();
    transport.deliver(...item(id, 0, 'a'));
    expect((await first).value?.body).toBe('a');
    const failure = new Error('the consumer failed');
    await expect(generator.throw(failure)).rejects.toBe(failure);
    expect(after).toBe(false);
    expect(transport.cancels()).toEqual([id]);
    expect(client.stats.errors).toEqual({ ABORTED: 1 });
  });

  // Regression: only ABORTED, CLOSED, LIMIT_EXCEEDED, BAD_REPLY and CONNECTION_LOST sent a cancel;
  // a reader refusing an item with another code (a codec's INVALID_ARGUMENT) left the server streaming.
  it('stream - the reader refusing an item with any code tells the server; its own end, a reply or a remote error, does not', async () => {
    const { client, transport } = setup();
    transport.connect();
    const refused = client.stream('/queue/q', 'range');
    const refusedId = transport.onlyCorrelationId();
    transport.deliver(...item(refusedId, 0, 'not a number'));
    await refused.next();
    await expect(refused.throw?.(new RpcError('INVALID_ARGUMENT', 'the item is not a number'))).rejects.toThrow();
    const ended = client.stream('/queue/q', 'range');
    transport.deliver({ [Header.correlationId]: transport.lastCorrelationId(), [Header.stream]: StreamMark.end });
    expect((await ended.next()).done).toBe(true);
    const failed = client.stream('/queue/q', 'range');
    transport.deliver(
      { [Header.correlationId]: transport.lastCorrelationId(), [Header.errorCode]: 'INTERNAL' },
      'boom',
    );
    await expect(failed.next()).rejects.toMatchObject({ code: 'INTERNAL', remote: true });
    expect(transport.cancels()).toEqual([refusedId]);
    expect(client.stats.errors).toEqual({ INVALID_ARGUMENT: 1, INTERNAL: 1 });
  });

  it('stream - leaving the loop early cancels the call; the deadline ends it with TIMEOUT, and its cancel says DEADLINE_EXCEEDED', async () => {
    const { client, transport, clock } = setup();
    transport.connect();
    const items = client.stream('/queue/q', 'range');
    const correlationId = transport.onlyCorrelationId();
    transport.deliver(...item(correlationId, 0, 'a'));
    for await (const _ of { [Symbol.asyncIterator]: () => items }) break;
    await Promise.resolve();
    expect(transport.cancels()).toEqual([correlationId]);
    const slow = client.stream('/queue/q', 'range', { timeoutMs: 50 });
    const next = slow.next();
    const slowId = transport.lastCorrelationId();
    transport.receipt(slowId);
    clock.advance(50);
    await expect(next).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(client.stats.pending).toBe(0);
    const cancels = transport.published.filter((frame) => frame.destination === CANCEL_TOPIC);
    expect(cancels.map((frame) => [frame.headers[Header.correlationId], frame.headers[Header.errorCode]])).toEqual([
      [correlationId, undefined],
      [slowId, 'DEADLINE_EXCEEDED'],
    ]);
  });

  it('stream - an item out of order, a plain reply to a stream and an item to a plain call are BAD_REPLY', async () => {
    const { client, transport } = setup();
    transport.connect();
    const gap = client.stream('/queue/q', 'range');
    const gapNext = gap.next();
    transport.deliver(...item(transport.lastCorrelationId(), 1, 'b'));
    await expect(gapNext).rejects.toMatchObject({ code: 'BAD_REPLY' });
    const plain = client.stream('/queue/q', 'range');
    const plainNext = plain.next();
    transport.deliver({ [Header.correlationId]: transport.lastCorrelationId() }, 'x');
    await expect(plainNext).rejects.toMatchObject({ code: 'BAD_REPLY' });
    const call = client.request('/queue/q', '1');
    transport.deliver(...item(transport.lastCorrelationId(), 0, 'a'));
    await expect(call).rejects.toMatchObject({ code: 'BAD_REPLY' });
    // A server that goes on streaming to a call that has ended is told to stop.
    expect(transport.cancels()).toEqual(transport.requests().map((frame) => frame.headers[Header.correlationId]));
  });

  it('stream - an item numbered other than in plain decimal (empty, "0x0", " 0", "-1") is BAD_REPLY, not taken or dropped', async () => {
    const { client, transport } = setup();
    transport.connect();
    for (const sequence of ['', '0x0', ' 0', '-1', '0.5']) {
      const items = client.stream('/queue/q', 'range');
      const next = items.next();
      const correlationId = transport.lastCorrelationId();
      transport.deliver(
        { [Header.correlationId]: correlationId, [Header.stream]: StreamMark.item, [Header.sequence]: sequence },
        'a',
      );
      await expect(next, sequence).rejects.toMatchObject({ code: 'BAD_REPLY' });
    }
  });

  it("stream - held for discovery after a reconnect, a stream that had items says so: NO_SERVERS at the window's end, TIMEOUT at its deadline", async () => {
    for (const [discoveryMs, code, says] of [
      [300, 'NO_SERVERS', 'the stream had 2 items when the connection was lost; no server announced itself for q'],
      [9000, 'TIMEOUT', 'did not end within 8000 ms (2 items arrived)'],
    ] as const) {
      const { client, transport, clock } = setup({ presence: true, whenNoServers: 'fail', discoveryMs });
      transport.connect();
      transport.deliver({ [Header.presence]: 'pong' }, announcement({ queue: 'q', beatMs: 1000 }));
      const items = client.stream('/queue/q', 'range', { timeoutMs: 8000, idempotent: true });
      const correlationId = transport.onlyCorrelationId();
      transport.deliver(...item(correlationId, 0, 'a'));
      transport.deliver(...item(correlationId, 1, 'b'));
      expect([(await items.next()).value?.body, (await items.next()).value?.body]).toEqual(['a', 'b']);
      const end = items.next().catch((error: unknown) => error);
      for (let ms = 0; ms < 4100; ms += 100) clock.advance(100); // over three beats unheard: the server is forgotten
      transport.disconnect();
      clock.advance(100);
      transport.connect(); // held for a window of discoveryMs
      const lastPing = transport.published.filter((frame) => frame.destination === PING_TOPIC).at(-1);
      transport.receipt(lastPing?.headers[Header.receipt] as string); // a broker that takes the ping at once
      for (let ms = 4200; ms < 8000; ms += 100) clock.advance(100);
      const error = await end;
      expect(error, code).toMatchObject({ code });
      expect((error as Error).message, code).toContain(says);
      expect(transport.requests('/queue/q')).toHaveLength(1);
      expect(transport.cancels(), 'its request went with the last connection').toEqual([]);
    }
  });
});

describe('RpcClient connection', () => {
  it('ready - a timeoutMs that is not a number of ms a timer can wait rejects with INVALID_ARGUMENT, as a call does; it does not throw', async () => {
    const { client } = setup();
    for (const timeoutMs of [0, -1, Number.NaN, 2 ** 31]) {
      let ready: Promise<void> | undefined;
      expect(() => {
        ready = client.ready(timeoutMs);
      }, String(timeoutMs)).not.toThrow();
      await expect(ready).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });

  it('connect - calls made before connecting are sent on connect, with what is left of their deadline', async () => {
    const { client, transport, clock } = setup({ timeoutMs: 5000 });
    const reply = client.request('/queue/q', '1');
    clock.advance(1200);
    expect(transport.published).toEqual([]);
    transport.connect();
    const [frame] = transport.requests();
    expect(frame?.headers[Header.expiration]).toBe('3800');
    transport.deliver({ [Header.correlationId]: frame?.headers[Header.correlationId] as string }, 'ok');
    await expect(reply).resolves.toMatchObject({ body: 'ok', latencyMs: 1200 });
  });

  it('disconnect - idempotent calls are sent again after the reconnect, others reject with CONNECTION_LOST', async () => {
    const { client, transport } = setup();
    transport.connect();
    const idempotent = client.request('/queue/q', 'safe', { idempotent: true });
    const once = client.request('/queue/q', 'once');
    const [safeFrame] = transport.requests();
    const reason = new RpcError('CONNECTION_LOST', 'the socket closed (1006)');
    transport.disconnect(reason);
    const error = await once.catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'CONNECTION_LOST', cause: reason });
    void client.request('/queue/q', 'later');
    expect(transport.requests()).toHaveLength(2);
    transport.connect();
    const afterReconnect = transport.requests().slice(2);
    expect(afterReconnect.map((frame) => frame.body)).toEqual(['safe', 'later']);
    const safeId = safeFrame?.headers[Header.correlationId] as string;
    expect(afterReconnect[0]?.headers[Header.correlationId]).toBe(safeId);
    transport.deliver({ [Header.correlationId]: safeId }, 'done');
    await expect(idempotent).resolves.toMatchObject({ body: 'done' });
    expect(client.stats).toMatchObject({ resent: 1, reconnects: 1, pending: 1, errors: { CONNECTION_LOST: 1 } });
  });

  it('disconnect - the broker’s close for a frame over its limit fails the largest request sent on that connection, unsent again; requests as large fail, waiting or new, unless out and not sent again (they may have run); the others go on', async () => {
    const turn: Array<() => void> = [];
    const { client, transport } = setup({ maxRequestBytes: 10_000 }, (send) => turn.push(send));
    const endTurn = () => {
      for (const send of turn.splice(0)) send();
    };
    const outcome = (call: Promise<unknown>) =>
      call.then(
        () => 'answered',
        (error: RpcError) => `${error.code}: ${error.message}`,
      );
    transport.connect();
    const medium = client.request('/queue/q', 'x'.repeat(2000), { idempotent: true });
    // The largest frame, though not the longest body: its traceparent makes it so.
    const large = outcome(client.request('/queue/q', 'y'.repeat(5000), { idempotent: true, traceparent: TRACEPARENT }));
    const longerBody = outcome(client.request('/queue/q', 'z'.repeat(5010), { idempotent: true }));
    const once = client.request('/queue/q', '1');
    // Over the lowered limit too, but out and not sent again: it may have run, as `once` may.
    const mayHaveRun = client.request('/queue/q', 'm'.repeat(5010));
    endTurn();
    const waiting = outcome(client.request('/queue/q', 'w'.repeat(6000), { idempotent: true })); // not sent yet
    const reason = new EndReason().take({ code: 1009 }, 'ws://broker', true);
    transport.disconnect(reason);
    endTurn();
    expect(await large).toMatch(
      /^INVALID_ARGUMENT: the broker closed the connection on this request \(5050 bytes\), over its frame limit: it is not sent again, and requests of 5050 bytes or more are refused from now on; set maxRequestBytes \(10000\) under/,
    );
    // As large as the limit counts them (the destination, body, caller's headers and the queue's
    // declaration, the servers' default here), sent or waiting.
    const lowered =
      /^INVALID_ARGUMENT: the request is \d+ bytes, over the client's request limit \(5049, lowered from its maxRequestBytes 10000 when the broker refused a larger frame\)/;
    expect(await longerBody).toMatch(lowered);
    expect(await waiting).toMatch(lowered);
    await expect(once).rejects.toMatchObject({ code: 'CONNECTION_LOST', cause: reason });
    await expect(mayHaveRun).rejects.toMatchObject({ code: 'CONNECTION_LOST', cause: reason });
    transport.connect();
    endTurn();
    expect(transport.requests().map((frame) => frame.body.length)).toEqual([2000, 5000, 5010, 1, 5010, 2000]);
    transport.deliver(
      { [Header.correlationId]: transport.requests()[5]?.headers[Header.correlationId] as string },
      'ok',
    );
    await expect(medium).resolves.toMatchObject({ body: 'ok' });

    expect(await outcome(client.request('/queue/q', 'v'.repeat(5000)))).toMatch(lowered);
    // Under the lowered limit, a request goes out; a close for another reason teaches nothing, and it goes out again.
    void client.request('/queue/q', 'u'.repeat(4999), { idempotent: true });
    endTurn();
    transport.disconnect();
    transport.connect();
    endTurn();
    expect(
      transport
        .requests()
        .slice(6)
        .map((frame) => frame.body.length),
    ).toEqual([4999, 4999]);
    expect(client.stats.errors).toEqual({ INVALID_ARGUMENT: 4, CONNECTION_LOST: 2 });
  });

  it('connect failed - a refused login rejects the waiting calls with UNAUTHENTICATED', async () => {
    const { client, transport } = setup();
    const reply = client.request('/queue/q', '1');
    transport.connectFailed(new RpcError('UNAVAILABLE', 'refused'));
    expect(client.stats.pending).toBe(1);
    const refused = new RpcError('UNAUTHENTICATED', 'access refused');
    transport.connectFailed(refused);
    await expect(reply).rejects.toMatchObject({ code: 'UNAUTHENTICATED', cause: refused });
  });

  it('connect failed - a URL the browser will not open rejects the waiting calls with INVALID_ARGUMENT, as a refused login does', async () => {
    const { client, transport } = setup();
    const reply = client.request('/queue/q', '1');
    const refused = new RpcError('INVALID_ARGUMENT', 'the browser refuses to open ws://broker.example/ws');
    transport.connectFailed(refused);
    await expect(reply).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', cause: refused });
  });

  it('request - a destination RabbitMQ does not know (no /queue/) is INVALID_ARGUMENT at once, sending nothing', async () => {
    const { client, transport } = setup();
    transport.connect();
    await expect(client.request('rpc_queue', '1')).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('"rpc_queue"'),
    });
    await Promise.resolve();
    expect(transport.requests()).toEqual([]);
  });

  it('connect failed - a call made while the refusal stands fails at once with UNAUTHENTICATED, sending nothing', async () => {
    const { client, transport } = setup();
    transport.refusal = new RpcError('UNAUTHENTICATED', 'access refused');
    await expect(client.request('/queue/q', '1')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(client.stats).toMatchObject({ pending: 0, errors: { UNAUTHENTICATED: 1 } });
    // The caller's own mistakes and aborts are still theirs, not hidden behind the broker's refusal.
    await expect(client.request('rpc_queue', '1')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.request('/queue/q', '1', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ABORTED',
    });
    transport.refusal = undefined; // the next attempt logged in
    transport.connect();
    const reply = client.request('/queue/q', '1');
    transport.deliver({ [Header.correlationId]: transport.onlyCorrelationId() }, 'ok');
    await expect(reply).resolves.toMatchObject({ body: 'ok' });
  });
});

describe('RpcClient confirmation', () => {
  it('probe - one the broker ignored (replies came, its RECEIPT never) is retired: a later unconfirmed request gets a probe of its own, and nothing is re-sent before its RECEIPT', async () => {
    const { client, transport, clock } = setup({ timeoutMs: 60_000 });
    transport.connect();
    const sampled = client.request('/queue/q', 's', { idempotent: true });
    const sampledId = transport.lastCorrelationId();
    clock.advance(10);
    transport.receipt(sampledId); // the client knows how fast this broker confirms
    const first = client.request('/queue/q', 'a', { idempotent: true });
    const firstId = transport.lastCorrelationId();
    clock.advance(1250);
    expect(transport.probes).toEqual(['probe-1']); // never answered
    clock.advance(500);
    transport.deliver({ [Header.correlationId]: sampledId }, 'ok'); // progress after the probe
    await sampled;
    clock.advance(3000);
    transport.deliver({ [Header.correlationId]: firstId }, 'ok');
    await first;
    clock.advance(10_000);
    // Later the broker is busy with this connection: no RECEIPT, nothing comes back.
    const resentBefore = client.stats.resent;
    const busy = client.request('/queue/q', 'b', { idempotent: true });
    clock.advance(8000);
    expect(transport.probes).toEqual(['probe-1', 'probe-2']);
    expect(client.stats.resent - resentBefore).toBe(0); // a busy broker gets nothing more to do
    transport.receipt('probe-2'); // it did handle the request, and confirmed it not: sent again
    clock.advance(3000);
    expect(client.stats.resent - resentBefore).toBeGreaterThan(0);
    await client.close();
    await expect(busy).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('deadline - OVERLOADED when the broker never confirmed the request', async () => {
    const { client, transport, clock } = setup({ timeoutMs: 2000, resendUnconfirmedMs: 0 });
    transport.connect();
    const reply = client.request('/queue/q', '1');
    clock.advance(2000);
    await expect(reply).rejects.toMatchObject({ code: 'OVERLOADED' });
  });

  it('deadline - TIMEOUT, not OVERLOADED, for a call that reached the broker just before its deadline (it waited for the connection)', async () => {
    const { client, transport, clock } = setup({ timeoutMs: 5000 });
    const late = client.request('/queue/q', '1');
    clock.advance(4990);
    transport.connect(); // the broker reachable at last; its RECEIPT cannot come in 10 ms
    clock.advance(10);
    await expect(late).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('deadline - OVERLOADED for a short call the broker never confirmed while connected the whole time (half its time was enough to tell)', async () => {
    const { client, transport, clock } = setup({ timeoutMs: 800 });
    transport.connect();
    const refused = client.request('/queue/q', '1');
    clock.advance(800);
    await expect(refused).rejects.toMatchObject({ code: 'OVERLOADED' });
  });

  it('deadline - TIMEOUT when the broker confirmed the request but no reply came', async () => {
    const { client, transport, clock } = setup({ timeoutMs: 2000 });
    transport.connect();
    const reply = client.request('/queue/q', '1');
    transport.receipt(transport.onlyCorrelationId());
    clock.advance(1999);
    expect(client.stats.pending).toBe(1);
    clock.advance(1);
    await expect(reply).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(client.stats.errors).toEqual({ TIMEOUT: 1 });
  });

  it('resend - an idempotent request the broker did not confirm goes again, with the same correlation id', () => {
    const { client, transport, clock } = setup({ timeoutMs: 10_000, resendUnconfirmedMs: 1000 });
    transport.connect();
    void client.request('/queue/q', 'safe', { idempotent: true }).catch(() => {});
    void client.request('/queue/q', 'once').catch(() => {});
    clock.advance(1000);
    // No RECEIPT: a probe asks whether the broker got to the requests before anything goes again.
    expect(transport.requests()).toHaveLength(2);
    expect(transport.probes).toEqual(['probe-1']);
    transport.receipt('probe-1'); // it did, and confirmed neither: they were refused
    clock.advance(1249);
    expect(transport.requests()).toHaveLength(2);
    clock.advance(1);
    const requests = transport.requests();
    expect(requests.map((frame) => frame.body)).toEqual(['safe', 'once', 'safe']);
    expect(requests[2]?.headers[Header.correlationId]).toBe(requests[0]?.headers[Header.correlationId]);
    expect(requests[2]?.headers[Header.expiration]).toBe('7750');
    expect(client.stats.resent).toBe(1);
  });

  // Regression: a copy sent again on the same connection ran on at another server after the call ended.
  it('resend - once a call sent twice on this connection ends, even answered, the servers are told: a copy may still run', async () => {
    const { client, transport, clock } = setup({ timeoutMs: 10_000, resendUnconfirmedMs: 1000 });
    transport.connect();
    const resent = client.request('/queue/q', 'safe', { idempotent: true });
    const correlationId = transport.onlyCorrelationId();
    resendUnconfirmed(clock, transport); // the broker got to it and confirmed nothing: it goes again
    expect(client.stats.resent).toBe(1);
    transport.deliver({ [Header.correlationId]: correlationId }, 'answer');
    await expect(resent).resolves.toMatchObject({ body: 'answer' });
    expect(transport.cancels()).toEqual([correlationId]);
    // Sent again on a new connection only: the copy on the last one cannot be told (its reply queue is gone).
    const again = client.request('/queue/q', 'safe', { idempotent: true });
    transport.disconnect();
    transport.connect();
    expect(transport.requests().filter((frame) => frame.body === 'safe')).toHaveLength(4);
    transport.deliver({ [Header.correlationId]: transport.lastCorrelationId() }, 'answer');
    await expect(again).resolves.toMatchObject({ body: 'answer' });
    expect(transport.cancels()).toEqual([correlationId]);
  });

  it('resend - a call sent twice that ends at its deadline sends one cancel, saying DEADLINE_EXCEEDED, for both copies', async () => {
    const { client, transport, clock } = setup({ timeoutMs: 5000, resendUnconfirmedMs: 1000 });
    transport.connect();
    const late = client.request('/queue/q', 'x', { idempotent: true });
    resendUnconfirmed(clock, transport); // the broker got to it and confirmed nothing: it goes again
    const copy = transport.requests().at(-1);
    expect(transport.requests()).toHaveLength(2);
    transport.receipt(copy?.headers[Header.receipt] as string); // the copy is taken, and never answered
    clock.advance(5000);
    await expect(late).rejects.toMatchObject({ code: 'TIMEOUT' });
    const cancels = transport.published.filter((frame) => frame.destination === CANCEL_TOPIC);
    expect(cancels.map((frame) => frame.headers)).toEqual([
      {
        [Header.correlationId]: copy?.headers[Header.correlationId],
        [Header.replyTo]: REPLY_TO,
        [Header.errorCode]: 'DEADLINE_EXCEEDED',
      },
    ]);
  });

  it('batch - idempotent requests of one turn go out together, and only the last asks for a RECEIPT', async () => {
    const turns: Array<() => void> = [];
    const { client, transport, clock } = setup({ timeoutMs: 2000, resendUnconfirmedMs: 0 }, (send) => turns.push(send));
    transport.connect();
    const replies = ['1', '2', '3'].map((body) => client.request('/queue/q', body, { idempotent: true }));
    expect(transport.requests()).toEqual([]); // nothing before the end of the turn
    expect(turns).toHaveLength(1); // one send for the whole batch
    turns.shift()?.();
    const frames = transport.requests();
    expect(frames.map((frame) => frame.body)).toEqual(['1', '2', '3']);
    expect(frames.map((frame) => Header.receipt in frame.headers)).toEqual([false, false, true]);
    // The one RECEIPT confirms all three: none of them ends OVERLOADED.
    transport.receipt(frames[2]?.headers[Header.receipt] as string);
    clock.advance(2000);
    for (const reply of replies) await expect(reply).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('batch - a request that is not idempotent has its own RECEIPT: accepted, it is never called refused for the RECEIPT of another that a full queue refused', async () => {
    const turns: Array<() => void> = [];
    const { client, transport, clock } = setup({ timeoutMs: 30_000 }, (send) => turns.push(send));
    transport.connect();
    const charge = client.request('/queue/q', 'charge card');
    const refused = client.request('/queue/q', 'charge again');
    turns.shift()?.();
    const frames = transport.requests();
    expect(frames.map((frame) => frame.headers[Header.receipt] !== undefined)).toEqual([true, true]);
    transport.receipt(frames[0]?.headers[Header.receipt] as string); // the queue took the first, not the second
    // A slow server: for 20 s no reply, while the client probes and waits for the second's RECEIPT.
    for (let ms = 0; ms < 20_000; ms += 100) {
      clock.advance(100);
      for (const probe of transport.probes.splice(0)) transport.receipt(probe);
    }
    expect(client.stats.pending).toBe(2); // the first was not called refused (OVERLOADED invites a retry)
    transport.deliver({ [Header.correlationId]: frames[0]?.headers[Header.correlationId] as string }, 'charged');
    await expect(charge).resolves.toMatchObject({ body: 'charged' });
    clock.advance(10_000);
    await expect(refused).rejects.toMatchObject({ code: 'OVERLOADED' });
  });

  it('batch - a call that ended before its batch went out is not sent', async () => {
    const turns: Array<() => void> = [];
    const { client, transport } = setup({}, (send) => turns.push(send));
    transport.connect();
    const controller = new AbortController();
    const aborted = client.request('/queue/q', 'gone', { signal: controller.signal });
    void client.request('/queue/q', 'kept').catch(() => {});
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    turns.shift()?.();
    const frames = transport.requests();
    expect(frames.map((frame) => frame.body)).toEqual(['kept']);
    expect(frames[0]?.headers).toHaveProperty(Header.receipt);
  });

  it('batch - an unconfirmed batch leaves its calls OVERLOADED', async () => {
    const turns: Array<() => void> = [];
    const { client, transport, clock } = setup({ timeoutMs: 2000, resendUnconfirmedMs: 0 }, (send) => turns.push(send));
    transport.connect();
    const first = client.request('/queue/q', '1');
    const second = client.request('/queue/q', '2');
    turns.shift()?.();
    clock.advance(2000);
    await expect(first).rejects.toMatchObject({ code: 'OVERLOADED' });
    await expect(second).rejects.toMatchObject({ code: 'OVERLOADED' });
  });

  it('stuck - a connection whose broker answers the probe but confirms nothing for 4 waits after is dropped', () => {
    const { client, transport, clock } = setup({ resendUnconfirmedMs: 1000, timeoutMs: 120_000 });
    transport.connect();
    void client.request('/queue/q', '1').catch(() => {});
    clock.advance(1000);
    expect(transport.probes).toEqual(['probe-1']);
    transport.receipt('probe-1');
    clock.advance(4249);
    expect(transport.drops).toEqual([]);
    clock.advance(1);
    expect(transport.drops).toHaveLength(1);
    expect(transport.drops[0]?.code).toBe('CONNECTION_LOST');
    expect(transport.drops[0]?.message).toMatch(/handled requests but confirmed none for 4000 ms; reconnecting/);
  });

  it('stuck - an idempotent request a full queue never confirms ends OVERLOADED at its deadline, after the stuck check made the connection anew too', async () => {
    const { client, transport, clock } = setup({ resendUnconfirmedMs: 1000, timeoutMs: 10_000 });
    transport.drop = (reason) => {
      transport.drops.push(reason);
      transport.disconnect(reason);
      transport.connect();
    };
    transport.connect();
    const sampled = client.request('/queue/q', 'w', { idempotent: true }); // a receipt time sampled
    clock.advance(5);
    transport.receipt(transport.onlyCorrelationId());
    transport.deliver({ [Header.correlationId]: transport.onlyCorrelationId() }, 'ok');
    await expect(sampled).resolves.toMatchObject({ body: 'ok' });
    const refused = client.request('/queue/q', '1', { idempotent: true });
    for (let ms = 0; ms < 10_000; ms += 50) {
      clock.advance(50);
      for (const probe of transport.probes.splice(0)) transport.receipt(probe); // handled, never confirmed
    }
    expect(transport.drops).toHaveLength(1);
    await expect(refused).rejects.toMatchObject({ code: 'OVERLOADED' });
  });

  it('stuck - a fresh client waits UNSAMPLED_PATIENCE_MS for a broker that has not reached its request (probe unanswered), re-sending nothing', async () => {
    const { client, transport, clock } = setup({ resendUnconfirmedMs: 1000, timeoutMs: 120_000 });
    transport.connect();
    const call = client.request('/queue/q', '1', { idempotent: true }).catch((error: RpcError) => error.code);
    clock.advance(UNSAMPLED_PATIENCE_MS - 1);
    expect(transport.drops).toEqual([]);
    expect(client.stats.resent).toBe(0);
    expect(transport.probes).toEqual(['probe-1']);
    clock.advance(1);
    expect(transport.drops[0]?.message).toMatch(/handled none of the requests sent 30000 ms ago; reconnecting/);
    await client.close();
    expect(await call).toBe('CLOSED');
  });
});

describe('RpcClient presence', () => {
  it('presence - a watching client listens to the presence topic on connect and pings with its reply-to', () => {
    const { transport } = setup({ presence: true, watchServers: true });
    transport.connect();
    expect(transport.subscriptions.map((subscription) => subscription.destination)).toEqual([PRESENCE_TOPIC]);
    expect(transport.published).toEqual([
      { destination: PING_TOPIC, body: '', headers: { [Header.replyTo]: REPLY_TO, [Header.receipt]: 'ping-1' } },
    ]);
  });

  it('exchange - pings and cancels go through the exchange with their routing keys (a page may write to amq.topic nowhere); presence is still heard on amq.topic', async () => {
    const { client, transport } = setup({ presence: true, watchServers: true, exchange: 'rpc' });
    expect(client.exchange).toBe('rpc');
    transport.connect();
    expect(transport.subscriptions.map((subscription) => subscription.destination)).toEqual([PRESENCE_TOPIC]);
    const abort = new AbortController();
    const reply = client.request('/exchange/rpc/q', '1', { signal: abort.signal });
    await Promise.resolve(); // the batch goes out on a microtask
    abort.abort();
    await expect(reply).rejects.toMatchObject({ code: 'ABORTED' });
    expect(transport.published.map((frame) => frame.destination)).toEqual([
      '/exchange/rpc/rpc.ping',
      '/exchange/rpc/q',
      '/exchange/rpc/rpc.cancel',
    ]);
    expect(transport.published[2]?.headers).toMatchObject({
      [Header.correlationId]: transport.published[1]?.headers[Header.correlationId],
      [Header.replyTo]: REPLY_TO,
    });
    expect(() => setup({ exchange: 'a/b' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^exchange must be a name/) }),
    );
  });

  it('presence - onServersChange and whenNoServers "fail" turn watching on', () => {
    for (const options of [{ onServersChange: () => {} }, { whenNoServers: 'fail' as const }]) {
      const { transport } = setup({ presence: true, ...options });
      transport.connect();
      expect(transport.subscriptions.map((subscription) => subscription.destination)).toEqual([PRESENCE_TOPIC]);
    }
  });

  it('presence - by default an idle client neither listens nor pings: it costs the broker nothing', () => {
    const { transport, clock } = setup({ presence: true });
    transport.connect();
    clock.advance(60_000);
    expect(transport.subscriptions).toEqual([]);
    expect(transport.published).toEqual([]);
  });

  it('presence - by default a call with no reply from its queue for a second makes one ping a second, until it is answered', async () => {
    const { client, transport, clock } = setup({ presence: true, timeoutMs: 10_000 });
    transport.connect();
    const pings = () => transport.published.filter((frame) => frame.destination === PING_TOPIC).length;
    const reply = client.request('/queue/q', '1');
    transport.receipt(transport.onlyCorrelationId());
    clock.advance(999);
    expect(pings()).toBe(0);
    clock.advance(1);
    expect(pings()).toBe(1);
    transport.receipt('ping-1');
    clock.advance(1000);
    expect(pings()).toBe(2); // nobody answered: ask again
    transport.deliver({ [Header.presence]: 'pong' }, announcement({ id: 'a', queue: 'q' }));
    clock.advance(3000);
    expect(pings()).toBe(2); // a server is known for the queue now
    transport.deliver({ [Header.correlationId]: transport.onlyCorrelationId() }, 'ok');
    await expect(reply).resolves.toMatchObject({ body: 'ok' });
    clock.advance(60_000);
    expect(pings()).toBe(2); // nothing pending: the probe stopped
  });

  // Regression: in a storm of 1,000 first calls each client pinged every second for a request the
  // broker had not got to yet; the pings, and every server's answers, added to its backlog.
  it('presence - a call whose request the broker has not confirmed makes no ping: the ping would wait behind it', async () => {
    const { client, transport, clock } = setup({ presence: true, timeoutMs: 10_000 });
    transport.connect();
    const pings = () => transport.published.filter((frame) => frame.destination === PING_TOPIC).length;
    const reply = client.request('/queue/q', '1');
    clock.advance(3000);
    expect(pings()).toBe(0);
    transport.receipt(transport.onlyCorrelationId());
    clock.advance(1250); // the next probe
    expect(pings()).toBe(1);
    transport.deliver({ [Header.correlationId]: transport.onlyCorrelationId() }, 'ok');
    await expect(reply).resolves.toMatchObject({ body: 'ok' });
  });

  it('presence - with confirmRequests off, an unanswered call pings after a second, as the broker confirms nothing', async () => {
    const { client, transport, clock } = setup({ presence: true, confirmRequests: false, timeoutMs: 10_000 });
    transport.connect();
    const reply = client.request('/queue/q', '1');
    clock.advance(1000);
    expect(transport.published.filter((frame) => frame.destination === PING_TOPIC)).toHaveLength(1);
    transport.deliver({ [Header.correlationId]: transport.onlyCorrelationId() }, 'ok');
    await expect(reply).resolves.toMatchObject({ body: 'ok' });
  });

  it('presence - by default calls answered within a second never ping', async () => {
    const { client, transport, clock } = setup({ presence: true });
    transport.connect();
    for (let i = 0; i < 5; i++) {
      const reply = client.request('/queue/q', String(i));
      transport.receipt(transport.lastCorrelationId());
      clock.advance(400);
      transport.deliver({ [Header.correlationId]: transport.lastCorrelationId() }, 'ok');
      await reply;
    }
    clock.advance(5000);
    expect(transport.published.filter((frame) => frame.destination === PING_TOPIC)).toEqual([]);
  });

  it('presence - a reply from the queue since the call began counts as an answer: no ping', async () => {
    const { client, transport, clock } = setup({ presence: true });
    transport.connect();
    const slow = client.request('/queue/q', 'slow');
    const slowId = transport.onlyCorrelationId();
    const fast = client.request('/queue/q', 'fast');
    const fastId = transport.lastCorrelationId();
    clock.advance(500);
    transport.deliver({ [Header.correlationId]: fastId }, 'ok');
    await fast;
    clock.advance(3000);
    expect(transport.published.filter((frame) => frame.destination === PING_TOPIC)).toEqual([]);
    transport.deliver({ [Header.correlationId]: slowId }, 'ok');
    await slow;
  });

  it('presence - by default, replies from a server it learned by ping keep it known: slow calls in a closed loop ping once, not every three beats', async () => {
    const { client, transport, clock } = setup({ presence: true, timeoutMs: 10_000 });
    transport.connect();
    const pings = () => transport.published.filter((frame) => frame.destination === PING_TOPIC).length;
    for (let i = 0; i < 10; i++) {
      clock.advance(10); // the next call of the loop starts a moment after the last reply
      const call = client.request('/queue/q', String(i));
      const frame = transport.requests().at(-1);
      transport.receipt(frame?.headers[Header.receipt] as string);
      clock.advance(1500); // no reply for a second: the first call pings
      if (i === 0) transport.deliver({ [Header.presence]: 'pong' }, announcement({ id: 's1', beatMs: 1000 }));
      const correlationId = frame?.headers[Header.correlationId] as string;
      transport.deliver({ [Header.correlationId]: correlationId, [Header.server]: servedBy('s1', 1500) }, 'ok');
      await call;
    }
    // 15 s, five times the three beats after which a server that is not heard from is forgotten.
    expect(pings()).toBe(1);
    expect(client.servers('q').map((server) => server.id)).toEqual(['s1']);
  });

  it("presence - with whenNoServers 'fail', a call to a queue no server is known for is held during discovery, then fails NO_SERVERS unsent", async () => {
    const { client, transport, clock } = setup({ presence: true, whenNoServers: 'fail', discoveryMs: 300 });
    transport.connect();
    transport.receipt('ping-1'); // the broker took the ping at once
    const reply = client.request('/queue/q', '1');
    clock.advance(299);
    expect(transport.requests()).toEqual([]);
    expect(client.stats.pending).toBe(1);
    clock.advance(1);
    await expect(reply).rejects.toMatchObject({ code: 'NO_SERVERS' });
    expect(transport.requests()).toEqual([]);
    await expect(client.request('/queue/q', '2')).rejects.toMatchObject({ code: 'NO_SERVERS' });
    expect(client.stats.errors).toEqual({ NO_SERVERS: 2 });
  });

  it("presence - with whenNoServers 'fail', a broker slow to confirm the ping (a connect storm) holds calls past the window until its servers' answers are due, not NO_SERVERS", async () => {
    const { client, transport, clock } = setup({ presence: true, whenNoServers: 'fail', discoveryMs: 300 });
    transport.connect();
    const reply = client.request('/queue/q', '1');
    clock.advance(400); // the window is over, and the ping not confirmed yet
    expect(client.stats.pending).toBe(1);
    transport.receipt('ping-1');
    clock.advance(500); // the answer takes as long again as the ping and its RECEIPT did
    transport.deliver({ [Header.presence]: 'pong' }, announcement({ queue: 'q' }));
    expect(transport.requests('/queue/q')).toHaveLength(1);
    transport.deliver({ [Header.correlationId]: transport.onlyCorrelationId() }, 'ok');
    await expect(reply).resolves.toMatchObject({ body: 'ok' });
  });

  it("presence - with whenNoServers 'fail', a call whose deadline comes while it is held fails NO_SERVERS unsent, not TIMEOUT (which may have run)", async () => {
    const { client, transport, clock } = setup({ presence: true, whenNoServers: 'fail', discoveryMs: 300 });
    transport.connect();
    const reply = client.request('/queue/q', '1', { timeoutMs: 200 });
    clock.advance(200);
    await expect(reply).rejects.toMatchObject({ code: 'NO_SERVERS' });
    expect(transport.requests()).toEqual([]);
  });

  it("presence - with whenNoServers 'fail', a call held again after a reconnect ends at its deadline as at the window's end: NO_SERVERS", async () => {
    const { client, transport, clock } = setup({ presence: true, whenNoServers: 'fail', discoveryMs: 300 });
    transport.connect();
    transport.deliver({ [Header.presence]: 'pong' }, announcement({ queue: 'q', beatMs: 1000 }));
    const reply = client.request('/queue/q', '1', { timeoutMs: 8000, idempotent: true });
    expect(transport.requests('/queue/q')).toHaveLength(1);
    for (let ms = 0; ms < 4100; ms += 100) clock.advance(100); // over three beats unheard: the server is forgotten
    expect(client.servers('q')).toEqual([]);
    transport.disconnect();
    clock.advance(3700);
    transport.connect(); // a window until 8100, past the call's deadline
    clock.advance(200);
    await expect(reply).rejects.toMatchObject({
      code: 'NO_SERVERS',
      message: expect.stringContaining('was not sent again'),
    });
    expect(transport.requests('/queue/q')).toHaveLength(1);
  });

  it('presence - a held call goes out the moment a pong for its queue arrives', async () => {
    const { client, transport, clock } = setup({ presence: true, whenNoServers: 'fail', discoveryMs: 300 });
    transport.connect();
    const reply = client.request('/queue/q', '1');
    clock.advance(100);
    transport.deliver({ [Header.presence]: 'pong' }, announcement({ queue: 'other' }));
    expect(transport.requests()).toEqual([]);
    transport.deliver({ [Header.presence]: 'pong' }, announcement({ id: 'server-2', queue: 'q' }));
    expect(transport.requests('/queue/q')).toHaveLength(1);
    expect(client.servers('q').map((server) => server.id)).toEqual(['server-2']);
    expect(client.stats.droppedReplies).toBe(0);
    clock.advance(200); // the window ends: nothing left to fail
    transport.deliver({ [Header.correlationId]: transport.onlyCorrelationId() }, 'ok');
    await expect(reply).resolves.toMatchObject({ body: 'ok' });
  });

  it('presence - an announcement on the presence topic releases held calls too', () => {
    const { client, transport } = setup({ presence: true, whenNoServers: 'fail' });
    transport.connect();
    void client.request('/queue/q', '1').catch(() => {});
    transport.announce(PRESENCE_TOPIC, announcement({ kind: 'hello' }));
    expect(transport.requests('/queue/q')).toHaveLength(1);
  });

  it('presence - onServersChange hears the servers', () => {
    const seen: string[][] = [];
    const { transport } = setup({
      presence: true,
      onServersChange: (servers) => seen.push(servers.map((server) => server.id)),
    });
    transport.connect();
    transport.announce(PRESENCE_TOPIC, announcement({ kind: 'hello', id: 'a' }));
    transport.announce(PRESENCE_TOPIC, announcement({ kind: 'bye', id: 'a' }));
    expect(seen).toEqual([['a'], []]);
  });

  it("presence - by default (whenNoServers 'wait'), and for destinations naming no queue, calls are sent at once", () => {
    const waiting = setup({ presence: true });
    waiting.transport.connect();
    void waiting.client.request('/queue/q', '1').catch(() => {});
    expect(waiting.transport.requests()).toHaveLength(1);
    const failing = setup({ presence: true, whenNoServers: 'fail' });
    failing.transport.connect();
    void failing.client.request('/exchange/amq.direct/key', '1').catch(() => {});
    expect(failing.transport.requests()).toHaveLength(1);
  });

  it('deadline - a sent call nothing answered ends NO_SERVERS when the broker took the ping promptly and no server answered it', async () => {
    const { client, transport, clock } = setup({ presence: true, timeoutMs: 1500 });
    transport.connect();
    const reply = client.request('/queue/q', '1');
    transport.receipt(transport.onlyCorrelationId());
    clock.advance(749);
    expect(transport.published.filter((frame) => frame.destination === PING_TOPIC)).toEqual([]);
    clock.advance(1); // no reply from q for half the deadline: who is there?
    const ping = transport.published.find((frame) => frame.destination === PING_TOPIC);
    clock.advance(5);
    transport.receipt(ping?.headers[Header.receipt] as string);
    clock.advance(745);
    const error = await reply.catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'NO_SERVERS' });
    expect((error as Error).message).toMatch(/nothing answered q within 1500 ms and no server announced itself/);
  });

  it('deadline - a 300 ms call is probed at 150 ms and ends NO_SERVERS when no answer comes within four ping round trips', async () => {
    const { client, transport, clock } = setup({ presence: true, timeoutMs: 300 });
    transport.connect();
    const reply = client.request('/queue/q', '1');
    transport.receipt(transport.onlyCorrelationId());
    clock.advance(150);
    const ping = transport.published.find((frame) => frame.destination === PING_TOPIC);
    clock.advance(20);
    transport.receipt(ping?.headers[Header.receipt] as string); // answers due within 80 ms
    clock.advance(130);
    await expect(reply).rejects.toMatchObject({ code: 'NO_SERVERS' });
  });

  it('deadline - TIMEOUT, not NO_SERVERS, when the broker was too busy to confirm the ping promptly (a storm): silence is not absence then', async () => {
    const { client, transport, clock } = setup({ presence: true, timeoutMs: 3000 });
    transport.connect();
    const reply = client.request('/queue/q', '1');
    transport.receipt(transport.onlyCorrelationId());
    clock.advance(1000);
    const ping = transport.published.find((frame) => frame.destination === PING_TOPIC);
    clock.advance(1500); // later than PROMPT_PING_MS
    transport.receipt(ping?.headers[Header.receipt] as string);
    clock.advance(500);
    await expect(reply).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('deadline - TIMEOUT, not NO_SERVERS, when the deadline came before any ping was answered by the broker', async () => {
    const { client, transport, clock } = setup({ presence: true, timeoutMs: 1000 });
    transport.connect();
    const reply = client.request('/queue/q', '1');
    transport.receipt(transport.onlyCorrelationId());
    clock.advance(1000);
    await expect(reply).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('deadline - TIMEOUT, not NO_SERVERS, when the queue answered another call meanwhile (a server that never announces itself)', async () => {
    const { client, transport, clock } = setup({ presence: true, timeoutMs: 1000 });
    transport.connect();
    const slow = client.request('/queue/q', 'slow');
    const quick = client.request('/queue/q', 'quick');
    const [slowFrame, quickFrame] = transport.requests();
    transport.receipt(quickFrame?.headers[Header.receipt] as string);
    transport.receipt(slowFrame?.headers[Header.receipt] as string);
    clock.advance(10);
    transport.deliver({ [Header.correlationId]: quickFrame?.headers[Header.correlationId] as string }, 'ok');
    await expect(quick).resolves.toMatchObject({ body: 'ok' });
    clock.advance(990);
    await expect(slow).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('deadline - TIMEOUT, not NO_SERVERS, when the queue answered a call after it ended (an overloaded queue replies after the deadlines)', async () => {
    const { client, transport, clock } = setup({ presence: true });
    transport.connect();
    const pings = () => transport.published.filter((frame) => frame.destination === PING_TOPIC);
    const first = client.request('/queue/q', '1', { timeoutMs: 1000 });
    const firstId = transport.onlyCorrelationId();
    transport.receipt(firstId);
    clock.advance(1000);
    await expect(first).rejects.toMatchObject({ code: 'TIMEOUT' });
    const second = client.request('/queue/q', '2', { timeoutMs: 3000 });
    transport.receipt(transport.requests().at(-1)?.headers[Header.receipt] as string);
    clock.advance(200);
    transport.deliver({ [Header.correlationId]: firstId }, 'late'); // too late for its call: dropped
    expect(client.stats.droppedReplies).toBe(1);
    clock.advance(805);
    // The broker takes the latest ping at once, and no server answers it (a storm of pings, say).
    transport.receipt(pings().at(-1)?.headers[Header.receipt] as string);
    clock.advance(1995);
    await expect(second).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(pings()).toHaveLength(1); // only the first call's probe: the queue had answered since
  });

  it('deadline - a client that does not watch takes a reply from the queue in the last 6 s as a sign of life: TIMEOUT, no ping; later, NO_SERVERS', async () => {
    const { client, transport, clock } = setup({ presence: true, timeoutMs: 3000 });
    transport.connect();
    const pings = () => transport.published.filter((frame) => frame.destination === PING_TOPIC);
    const answered = client.request('/queue/q', '1');
    transport.receipt(transport.onlyCorrelationId());
    transport.deliver({ [Header.correlationId]: transport.onlyCorrelationId() }, 'ok');
    await answered;
    clock.advance(1000);
    const soon = client.request('/queue/q', '2');
    transport.receipt(transport.requests().at(-1)?.headers[Header.receipt] as string);
    clock.advance(3000);
    await expect(soon).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(pings()).toEqual([]);
    clock.advance(3000); // 7 s since the reply
    const later = client.request('/queue/q', '3');
    transport.receipt(transport.requests().at(-1)?.headers[Header.receipt] as string);
    clock.advance(1000);
    expect(pings()).toHaveLength(1);
    transport.receipt(pings()[0]?.headers[Header.receipt] as string);
    clock.advance(2000);
    await expect(later).rejects.toMatchObject({ code: 'NO_SERVERS' });
  });

  it('deadline - TIMEOUT, not NO_SERVERS, when a server answered the ping and was forgotten since (no beat heard by a client that does not watch)', async () => {
    const { client, transport, clock } = setup({ presence: true, timeoutMs: 5600 });
    transport.connect();
    const reply = client.request('/queue/q', 'slow');
    transport.receipt(transport.onlyCorrelationId());
    clock.advance(1000);
    const ping = transport.published.find((frame) => frame.destination === PING_TOPIC);
    transport.deliver({ [Header.presence]: 'pong' }, announcement({ id: 'a', queue: 'q', beatMs: 1000 }));
    transport.receipt(ping?.headers[Header.receipt] as string);
    expect(client.servers('q')).toHaveLength(1);
    clock.advance(4500); // three beats without one: forgotten, and the next probe not yet due
    expect(client.servers('q')).toEqual([]);
    clock.advance(100);
    await expect(reply).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('deadline - TIMEOUT, not NO_SERVERS, when a server is known for the queue', async () => {
    const { client, transport, clock } = setup({ presence: true, timeoutMs: 1000, watchServers: true });
    transport.connect();
    transport.announce(PRESENCE_TOPIC, announcement({ kind: 'hello' }));
    const reply = client.request('/queue/q', '1');
    transport.receipt(transport.onlyCorrelationId());
    clock.advance(1000);
    await expect(reply).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('discoverServers - pings and resolves with the servers heard within the wait', async () => {
    const { client, transport, clock } = setup({ presence: true });
    transport.connect();
    const found = client.discoverServers(500, 'q');
    await settle();
    expect(transport.published.filter((frame) => frame.destination === PING_TOPIC)).toHaveLength(1);
    transport.confirmPing();
    transport.deliver({ [Header.presence]: 'pong' }, announcement({ id: 'a', queue: 'q' }));
    transport.deliver({ [Header.presence]: 'pong' }, announcement({ id: 'b', queue: 'elsewhere' }));
    clock.advance(500);
    expect((await found).map((server) => server.id)).toEqual(['a']);
  });

  it('discoverServers - a client that does not watch lists only the servers heard during this wait: one that stopped since its last ping is gone', async () => {
    const { client, transport, clock } = setup({ presence: true });
    transport.connect();
    const first = client.discoverServers(500);
    await settle();
    transport.confirmPing();
    transport.deliver({ [Header.presence]: 'pong' }, announcement({ id: 'a', beatMs: 2000 }));
    transport.deliver({ [Header.presence]: 'pong' }, announcement({ id: 'b', beatMs: 2000 }));
    clock.advance(500);
    expect((await first).map((server) => server.id)).toEqual(['a', 'b']);
    clock.advance(1000); // b stops; its bye goes to the presence topic, which this client does not hear
    const second = client.discoverServers(500);
    await settle();
    transport.confirmPing();
    clock.advance(480);
    transport.deliver({ [Header.presence]: 'pong' }, announcement({ id: 'a', beatMs: 2000 }));
    clock.advance(20);
    expect((await second).map((server) => server.id)).toEqual(['a']);
    expect(client.servers().map((server) => server.id)).toEqual(['a', 'b']); // still in view until it misses three beats
    // Asked again within ASKER_INTERVAL_MS (50 ms) of its last answer, a server does not answer
    // again: that answer, 20 ms before, counts; 120 ms before, it does not.
    const third = client.discoverServers(100);
    await settle();
    transport.confirmPing();
    clock.advance(100);
    expect((await third).map((server) => server.id)).toEqual(['a']);
    const fourth = client.discoverServers(100);
    await settle();
    transport.confirmPing();
    clock.advance(100);
    expect(await fourth).toEqual([]);
  });

  // Regression: `--servers` waited a fixed 500 ms from its ping, so a broker slow to pass the ping
  // on (a connect storm) made it list no servers while they were up.
  it('discoverServers - waits on while the broker has not confirmed the ping, then until its answers are due', async () => {
    const { client, transport, clock } = setup({ presence: true });
    transport.connect();
    const found = listing(client, 500);
    await settle();
    await advanceSettling(clock, 700);
    expect(found.ids).toBeUndefined(); // the wait is over, but the broker may not have passed the ping on
    transport.confirmPing(); // 700 ms after the ping: its answers may take four times that more
    await advanceSettling(clock, 2700);
    transport.deliver({ [Header.presence]: 'pong' }, announcement({ id: 'a' }));
    expect(found.ids).toBeUndefined();
    await advanceSettling(clock, 100); // 3,500 ms
    expect(found.ids).toEqual(['a']);
  });

  // Regression: a connection that dropped while the servers were asked (as RabbitMQ drops a user
  // who may not publish the ping) lost the question, and the empty list read as "no server".
  it('discoverServers - rejects with CONNECTION_LOST, saying why, when the connection dropped meanwhile', async () => {
    const { client, transport, clock } = setup({ presence: true });
    transport.connect();
    const reason = new RpcError('CONNECTION_LOST', 'closed after a fatal STOMP error (e.g. access_refused)');
    const dropped = expect(client.discoverServers(500)).rejects.toMatchObject({
      code: 'CONNECTION_LOST',
      cause: reason,
    });
    await settle();
    transport.disconnect(reason);
    transport.connect(); // back within the wait, its question lost with the first connection
    await advanceSettling(clock, 500);
    await dropped;
    const down = expect(client.discoverServers(500)).rejects.toMatchObject({ code: 'CONNECTION_LOST', cause: reason });
    await settle();
    transport.disconnect(reason); // and still down when the wait ends
    await advanceSettling(clock, 500);
    await down;
  });

  it('discoverServers - a ping the broker never confirms: resolves after ten waits with what it heard', async () => {
    const { client, transport, clock } = setup({ presence: true });
    transport.connect();
    const found = listing(client, 300);
    await settle();
    transport.deliver({ [Header.presence]: 'pong' }, announcement({ id: 'a' }));
    await advanceSettling(clock, 2900);
    expect(found.ids).toBeUndefined();
    await advanceSettling(clock, 100);
    expect(found.ids).toEqual(['a']);
  });
});

describe('RpcClient close', () => {
  // Regression: closed before its wait began (while ready() resolved), discoverServers() still
  // pinged and armed its timer, keeping a process alive for the whole wait after close().
  it('close - right after discoverServers() is called: it rejects with CLOSED, pings nothing, leaves no timer', async () => {
    const { client, transport, clock } = setup({ presence: true });
    transport.connect();
    const pingsBefore = transport.published.filter((frame) => frame.destination === PING_TOPIC).length;
    const discovering = client.discoverServers(3000);
    await client.close();
    await expect(discovering).rejects.toMatchObject({ code: 'CLOSED' });
    expect(transport.published.filter((frame) => frame.destination === PING_TOPIC)).toHaveLength(pingsBefore);
    expect(clock.pendingTimers).toBe(0);
  });

  it('close - rejects every pending call with CLOSED, closes the transport and leaves no timer', async () => {
    const { client, transport, clock } = setup({ presence: true });
    transport.connect();
    transport.deliver({ [Header.presence]: 'pong' }, announcement({ queue: 'q' }));
    const sent = client.request('/queue/q', '1', { idempotent: true });
    const held = client.request('/queue/elsewhere', '2');
    const discovering = client.discoverServers(5000);
    await settle();
    expect(clock.pendingTimers).toBeGreaterThan(0);
    await client.close();
    await expect(sent).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(held).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(discovering).rejects.toMatchObject({ code: 'CLOSED' });
    expect(clock.pendingTimers).toBe(0);
    expect(transport.state).toBe('closed');
    expect(client.stats).toMatchObject({ pending: 0, errors: { CLOSED: 2 } });
  });

  it('close - a call after close rejects with CLOSED; closing twice is safe', async () => {
    const { client, transport } = setup();
    transport.connect();
    await client.close();
    await client.close();
    await expect(client.request('/queue/q', '1')).rejects.toMatchObject({ code: 'CLOSED' });
    expect(transport.requests()).toEqual([]);
  });
});

describe('RpcClient stats', () => {
  it('stats - counts calls, outcomes by code, dropped replies, re-sends, reconnects, pending and latency', async () => {
    const { client, transport, clock } = setup({ timeoutMs: 1000 });
    transport.connect();
    const safe = client.request('/queue/q', 'safe', { idempotent: true });
    const once = client.request('/queue/q', 'once');
    const safeId = transport.requests()[0]?.headers[Header.correlationId] as string;
    transport.disconnect();
    transport.connect();
    expect(client.stats).toMatchObject({ calls: 2, pending: 1, resent: 1, reconnects: 1 });
    await expect(once).rejects.toMatchObject({ code: 'CONNECTION_LOST' });
    clock.advance(10);
    transport.deliver({ [Header.correlationId]: safeId }, 'fine');
    transport.deliver({ [Header.correlationId]: safeId }, 'a duplicate');
    await safe;
    await expect(client.request('/queue/q', 'bad', { timeoutMs: -1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    const failing = client.request('/queue/q', 'x');
    const failingId = transport.requests().at(-1)?.headers[Header.correlationId] as string;
    transport.deliver({ [Header.correlationId]: failingId, [Header.errorCode]: 'INTERNAL' }, 'boom');
    await expect(failing).rejects.toMatchObject({ code: 'INTERNAL', remote: true });
    const slow = client.request('/queue/q', 'y');
    transport.receipt(transport.requests().at(-1)?.headers[Header.correlationId] as string);
    clock.advance(1000);
    await expect(slow).rejects.toMatchObject({ code: 'TIMEOUT' });
    const stats = client.stats;
    expect(stats).toMatchObject({
      calls: 4,
      succeeded: 1,
      errors: { CONNECTION_LOST: 1, INVALID_ARGUMENT: 1, INTERNAL: 1, TIMEOUT: 1 },
      droppedReplies: 1,
      resent: 1,
      reconnects: 1,
      pending: 0,
    });
    expect(stats.latency.count).toBe(2); // the two replies, the error reply included
    expect(stats.latency.maxMs).toBe(10);
  });
});
