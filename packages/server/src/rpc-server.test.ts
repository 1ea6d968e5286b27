import { RpcError } from '@stomp-rpc/client';
import { CANCEL_TOPIC, PRESENCE_TOPIC } from '@stomp-rpc/client/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeSocket } from '../../client/test/fake-socket.js';
import type { RpcRequest } from './request-intake.js';
import { RpcServer, type RpcServerOptions } from './rpc-server.js';

const handler = (request: { body: string }) => request.body;

/** The error code constructing a server with these options throws, or 'none'. */
function codeOf(options: Partial<RpcServerOptions>): string {
  try {
    new RpcServer({ handler, ...options } as RpcServerOptions);
    return 'none';
  } catch (error) {
    return (error as { code?: string }).code ?? 'no code';
  }
}

describe('RpcServer options', () => {
  it('options - bounds that are not whole numbers of at least 1 are INVALID_ARGUMENT (a NaN bound would turn its check off)', () => {
    expect(codeOf({ maxReplyBytes: 1023 })).toBe('INVALID_ARGUMENT'); // an error's message, cut to fit, must still say something
    expect(codeOf({ maxReplyBytes: 1024 })).toBe('none');
    for (const name of ['prefetch', 'maxBodyBytes', 'maxStreamItems', 'maxStreamBytes'] as const) {
      for (const value of [Number.NaN, 0, -1, 1.5, Number.POSITIVE_INFINITY]) {
        expect(codeOf({ [name]: value }), `${name}: ${value}`).toBe('INVALID_ARGUMENT');
      }
      expect(codeOf({ [name]: 1 }), `${name}: 1`).toBe('none');
    }
  });

  it("options - a queue name that is empty, has a '/' or is over 255 bytes, or a prefetch over AMQP's 65535, is INVALID_ARGUMENT, as on the command line", () => {
    for (const queue of ['', 'a/b', 'q'.repeat(256)]) expect(codeOf({ queue }), queue).toBe('INVALID_ARGUMENT');
    expect(codeOf({ prefetch: 65_536 })).toBe('INVALID_ARGUMENT');
    expect(codeOf({ queue: 'q'.repeat(255), prefetch: 65_535 })).toBe('none');
  });

  it('options - a missing handler is INVALID_ARGUMENT at once, not INTERNAL on every request', () => {
    expect(codeOf({ handler: undefined })).toBe('INVALID_ARGUMENT');
  });

  it('options - an id clients would not read (empty, over 256 characters, a control character) is INVALID_ARGUMENT, not a server nobody sees', () => {
    for (const id of ['', 'x'.repeat(257), 'node-1\n', 'a\u0000b'])
      expect(codeOf({ id }), JSON.stringify(id)).toBe('INVALID_ARGUMENT');
    for (const id of ['node-1', 'x'.repeat(256), 'café ☕']) expect(codeOf({ id }), id).toBe('none');
  });
});

/** An RpcServer on sockets the test plays the broker on. */
function serverOnFakeSockets(options: Partial<RpcServerOptions> & Pick<RpcServerOptions, 'handler'>) {
  const sockets: FakeSocket[] = [];
  const server = new RpcServer({
    url: 'ws://127.0.0.1:1/ws',
    reconnectDelayMs: 1,
    presenceMs: 0,
    webSocketFactory: () => {
      const socket = new FakeSocket();
      sockets.push(socket);
      return socket;
    },
    ...options,
  });
  /** Opens the first socket, says CONNECTED and, with `confirm`, confirms every subscription. */
  const accept = async (confirm = true) => {
    await vi.waitFor(() => expect(sockets.length).toBe(1), { timeout: 2000 });
    const socket = sockets[0] as FakeSocket;
    socket.open();
    socket.receive('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n');
    if (confirm) for (const { id } of subscriptions(socket)) socket.receive(`RECEIPT\nreceipt-id:subscribe-${id}\n\n`);
    return socket;
  };
  return { server, sockets, accept };
}

/** An RpcServer started on a fake socket the test plays the broker on, every subscription confirmed. */
async function startedOnFakeSockets(options: Partial<RpcServerOptions> & Pick<RpcServerOptions, 'handler'>) {
  const { server, accept } = serverOnFakeSockets(options);
  const started = server.start(2000);
  const socket = await accept();
  await started;
  return { server, socket };
}

function subscriptions(socket: FakeSocket): { id: string; destination: string }[] {
  return socket.sent
    .filter((frame) => frame.startsWith('SUBSCRIBE\n'))
    .map((frame) => ({ id: header(frame, 'id'), destination: header(frame, 'destination') }));
}

function header(frame: string, name: string): string {
  return new RegExp(`\\n${name}:([^\\n]*)`).exec(frame)?.[1] ?? '';
}

const subscriptionTo = (socket: FakeSocket, destination: string) =>
  subscriptions(socket).find((subscription) => subscription.destination === destination)?.id ?? 'none';

const framesOf = (socket: FakeSocket, command: string) =>
  socket.sent.filter((frame) => frame.startsWith(`${command}\n`));

let delivered = 0;
/** The broker delivers a request, or a cancel, with these headers. */
function deliver(socket: FakeSocket, destination: string, headers: Record<string, string>, body = ''): void {
  const all = {
    subscription: subscriptionTo(socket, destination),
    'message-id': `m${++delivered}`,
    ack: String(delivered),
    destination,
    ...headers,
  };
  const lines = Object.entries(all).map(([name, value]) => `${name}:${value}`);
  socket.receive(`MESSAGE\n${lines.join('\n')}\n\n${body}`);
}

const REPLY_TO = '/reply-queue/amq.gen-caller';
const request = (socket: FakeSocket, correlationId: string) =>
  deliver(socket, '/queue/rpc_queue', { 'reply-to': REPLY_TO, 'correlation-id': correlationId }, '1');
const cancel = (socket: FakeSocket, correlationId: string, extra: Record<string, string> = {}) =>
  deliver(socket, CANCEL_TOPIC, { 'reply-to': REPLY_TO, 'correlation-id': correlationId, ...extra });

/** A handler that holds every request until the test releases it, and shows their signals. */
function heldRequests() {
  const signals: AbortSignal[] = [];
  const releases: Array<() => void> = [];
  const handler = (request: RpcRequest) => {
    signals.push(request.signal);
    return new Promise<string>((resolve) => releases.push(() => resolve('done')));
  };
  return { handler, signals, releases };
}

describe('RpcServer cancels', () => {
  // Regression: only the newest of the copies a client's re-send left on one server was reachable.
  it('cancel - stops every copy of a re-sent request (one correlation id, two deliveries)', async () => {
    const held = heldRequests();
    const { server, socket } = await startedOnFakeSockets({ handler: held.handler });
    request(socket, 'call.1');
    request(socket, 'call.1'); // the re-send
    await vi.waitFor(() => expect(held.signals).toHaveLength(2));
    cancel(socket, 'call.1');
    expect(held.signals.map((signal) => signal.aborted)).toEqual([true, true]);
    await vi.waitFor(() => expect(server.stats).toMatchObject({ cancelled: 2, inFlight: 0 }));
    expect(framesOf(socket, 'SEND')).toHaveLength(0);
    void server.stop(0);
  });

  it('cancel - one saying DEADLINE_EXCEEDED (the caller timed out) ends the request as its deadline would, before the one counted from delivery', async () => {
    const held = heldRequests();
    const { server, socket } = await startedOnFakeSockets({ handler: held.handler });
    deliver(socket, '/queue/rpc_queue', { 'reply-to': REPLY_TO, 'correlation-id': 'call.3', expiration: '60000' }, '1');
    await vi.waitFor(() => expect(held.signals).toHaveLength(1));
    cancel(socket, 'call.3', { 'rpc-error-code': 'DEADLINE_EXCEEDED' });
    expect(held.signals[0]?.reason).toMatchObject({
      code: 'DEADLINE_EXCEEDED',
      message: expect.stringContaining("the caller's deadline"),
    });
    await vi.waitFor(() => expect(framesOf(socket, 'SEND')).toHaveLength(1));
    expect(header(framesOf(socket, 'SEND')[0] as string, 'rpc-error-code')).toBe('DEADLINE_EXCEEDED');
    expect(server.stats).toMatchObject({ cancelled: 0, errors: { DEADLINE_EXCEEDED: 1 } });
    void server.stop(0);
  });

  it('cancel - the copy left after the other finished can still be cancelled', async () => {
    const held = heldRequests();
    const { server, socket } = await startedOnFakeSockets({ handler: held.handler });
    request(socket, 'call.2');
    request(socket, 'call.2');
    await vi.waitFor(() => expect(held.signals).toHaveLength(2));
    held.releases[1]?.();
    await vi.waitFor(() => expect(server.stats.inFlight).toBe(1));
    cancel(socket, 'call.2');
    expect(held.signals[0]?.aborted).toBe(true);
    await vi.waitFor(() => expect(server.stats).toMatchObject({ succeeded: 1, cancelled: 1, inFlight: 0 }));
    void server.stop(0);
  });

  it('stream - each item carries its number and the end how many went before it, so that a caller tells a restarted run’s end', async () => {
    const handler = async function* () {
      yield 'a';
      yield 'b';
    };
    const { server, socket } = await startedOnFakeSockets({ handler: () => handler() });
    request(socket, 'call.4');
    await vi.waitFor(() => expect(framesOf(socket, 'SEND')).toHaveLength(3));
    const streamHeaders = framesOf(socket, 'SEND').map((frame) =>
      frame.split('\n').filter((line) => /^rpc-(stream|seq):/.test(line)),
    );
    expect(streamHeaders).toEqual([
      ['rpc-stream:item', 'rpc-seq:0'],
      ['rpc-stream:item', 'rpc-seq:1'],
      ['rpc-stream:end', 'rpc-seq:2'],
    ]);
    void server.stop(0);
  });

  // Regression: a client cancels a call it sent twice once answered, to stop the copy; the cancel
  // came before the reply's RECEIPT and the server counted its answer as cancelled.
  it('cancel - one that comes while the reply’s RECEIPT is awaited leaves the request answered, not cancelled', async () => {
    const { server, socket } = await startedOnFakeSockets({ handler: () => 'done', confirmReplies: true });
    request(socket, 'call.5');
    await vi.waitFor(() => expect(framesOf(socket, 'SEND')).toHaveLength(1));
    const reply = framesOf(socket, 'SEND')[0] as string;
    cancel(socket, 'call.5');
    socket.receive(`RECEIPT\nreceipt-id:${header(reply, 'receipt')}\n\n`);
    await vi.waitFor(() => expect(server.stats.inFlight).toBe(0));
    expect(server.stats).toMatchObject({ succeeded: 1, cancelled: 0 });
    void server.stop(0);
  });

  it('cancel - a stream its handler makes only after the cancel is ended: its return() runs, so it can free what it holds', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let closed = 0;
    const unread: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ value: 'item', done: false }),
        return: async () => {
          closed++;
          return { value: undefined, done: true };
        },
      }),
    };
    const handler = async () => {
      await gate; // opening a cursor, say
      return unread;
    };
    const { server, socket } = await startedOnFakeSockets({ handler });
    request(socket, 'call.3');
    await vi.waitFor(() => expect(server.stats.inFlight).toBe(1));
    cancel(socket, 'call.3');
    await vi.waitFor(() => expect(server.stats).toMatchObject({ cancelled: 1, inFlight: 0 }));
    release();
    await vi.waitFor(() => expect(closed).toBe(1));
    expect(framesOf(socket, 'SEND')).toHaveLength(0);
    void server.stop(0);
  });
});

describe('RpcServer failures', () => {
  const failing = {
    handler: () => {
      throw new TypeError('cannot read the thing');
    },
    'stream producer': () => ({
      [Symbol.asyncIterator]: () => ({
        next: () => {
          throw new TypeError('cannot read the thing');
        },
      }),
    }),
  };
  it.each(Object.keys(failing) as Array<keyof typeof failing>)(
    "a %s's unexpected error: the caller gets INTERNAL with its message, the log its stack too",
    async (which) => {
      const errors: Array<{ fields: Record<string, unknown>; message: string }> = [];
      const logger = {
        debug: () => {},
        info: () => {},
        warn: () => {},
        error: (fields: object, message: string) => errors.push({ fields: fields as Record<string, unknown>, message }),
      };
      const { server, socket } = await startedOnFakeSockets({ handler: failing[which], logger });
      request(socket, 'call.1');
      await vi.waitFor(() => expect(framesOf(socket, 'SEND')).toHaveLength(1));
      const reply = framesOf(socket, 'SEND')[0] ?? '';
      expect(header(reply, 'rpc-error-code')).toBe('INTERNAL');
      expect(reply).toContain('cannot read the thing');
      expect(reply).not.toContain('rpc-server.test'); // no stack to the caller
      expect(errors).toEqual([
        {
          message: 'request failed',
          fields: expect.objectContaining({
            code: 'INTERNAL',
            stack: expect.stringMatching(/TypeError: cannot read the thing\n\s+at [^\n]*rpc-server\.test\.ts/),
          }),
        },
      ]);
      void server.stop(0);
    },
  );
  it.each([
    ['an object without a prototype', () => Object.create(null)],
    [
      'an object whose toString throws',
      () => ({
        toString: () => {
          throw new Error('no');
        },
      }),
    ],
  ])('a handler that throws %s: the caller gets INTERNAL, and the request is acknowledged', async (_, thrown) => {
    const { server, socket } = await startedOnFakeSockets({
      handler: () => {
        throw thrown();
      },
    });
    request(socket, 'call.1');
    await vi.waitFor(() => expect(framesOf(socket, 'ACK')).toHaveLength(1));
    expect(framesOf(socket, 'SEND').map((reply) => header(reply, 'rpc-error-code'))).toEqual(['INTERNAL']);
    void server.stop(0);
  });
  it("a handler that passes on another server's error (DEADLINE_EXCEEDED from a call of its own) answers INTERNAL naming it, not that code as its caller's", async () => {
    const { server, socket } = await startedOnFakeSockets({
      handler: ({ correlationId }) => {
        if (correlationId === 'call.2') throw new RpcError('INVALID_ARGUMENT', 'n is not a number');
        throw new RpcError('DEADLINE_EXCEEDED', 'the deadline passed', { remote: true });
      },
    });
    request(socket, 'call.1');
    request(socket, 'call.2');
    await vi.waitFor(() => expect(framesOf(socket, 'SEND')).toHaveLength(2));
    const replies = framesOf(socket, 'SEND').map((reply) => [
      header(reply, 'rpc-error-code'),
      reply.slice(reply.indexOf('\n\n') + 2, -1),
    ]);
    expect(replies).toEqual([
      ['INTERNAL', 'DEADLINE_EXCEEDED: the deadline passed'],
      ['INVALID_ARGUMENT', 'n is not a number'],
    ]);
    void server.stop(0);
  });
  it.each(Object.keys(failing) as Array<keyof typeof failing>)(
    "a %s's error message longer than maxReplyBytes is cut to fit: a larger frame would close the server's connection",
    async (which) => {
      const long = {
        handler: () => {
          throw new TypeError(`cannot read ${'x'.repeat(300_000)}`);
        },
        'stream producer': () => ({
          [Symbol.asyncIterator]: () => ({
            next: () => Promise.reject(new TypeError(`cannot read ${'x'.repeat(300_000)}`)),
          }),
        }),
      };
      const { server, socket } = await startedOnFakeSockets({ handler: long[which], maxReplyBytes: 1024 });
      request(socket, 'call.1');
      await vi.waitFor(() => expect(framesOf(socket, 'ACK')).toHaveLength(1));
      const [reply = ''] = framesOf(socket, 'SEND');
      expect(header(reply, 'rpc-error-code')).toBe('INTERNAL');
      const body = reply.slice(reply.indexOf('\n\n') + 2, -1);
      expect(body).toMatch(/^cannot read x+…$/);
      expect(new TextEncoder().encode(body).length).toBeLessThanOrEqual(1024);
      void server.stop(0);
    },
  );
});

describe('RpcServer replies the broker refuses as too large', () => {
  // maxReplyBytes raised past the broker's frame limit: the broker closes the connection (1009) on
  // the reply, and the request, redelivered, would do it again on every server, forever.
  it('after a close for a frame over the broker’s limit, replies as large as the largest frame’s body sent on that connection are INTERNAL; other closes change nothing', async () => {
    const errors: { replyLimit?: number; message: string }[] = [];
    const lowered = () => errors.filter(({ message }) => message.includes('over its size limit'));
    const logger = {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: (fields: { replyLimit?: number }, message: string) => errors.push({ ...fields, message }),
    };
    // A body "x 70000" is answered with 70,000 x's; "€ 25000" with 25,000 euro signs (75,000 bytes);
    // "stream € 25000" with them as a stream's one item, "throw € 25000" as an error's message.
    const { server, sockets, accept } = serverOnFakeSockets({
      handler: (request) => {
        const parts = request.body.split(' ');
        const [kind, char = '', count] = parts.length === 3 ? parts : ['reply', ...parts];
        const text = char.repeat(Number(count));
        if (kind === 'throw') throw new Error(text);
        return kind === 'stream'
          ? (async function* () {
              yield text;
            })()
          : text;
      },
      maxReplyBytes: 100_000,
      logger,
    });
    const started = server.start(2000);
    const first = await accept();
    await started;
    const replyTo = (socket: FakeSocket, correlationId: string) =>
      framesOf(socket, 'SEND').find((frame) => header(frame, 'correlation-id') === correlationId);
    const answerTo = async (socket: FakeSocket, correlationId: string, body: string) => {
      deliver(socket, '/queue/rpc_queue', { 'reply-to': REPLY_TO, 'correlation-id': correlationId }, body);
      await vi.waitFor(() => expect(replyTo(socket, correlationId)).toBeDefined());
      const reply = replyTo(socket, correlationId) ?? '';
      const replyBody = reply.slice(reply.indexOf('\n\n') + 2, -1);
      const code = header(reply, 'rpc-error-code');
      return code ? `${code}: ${replyBody}` : `${Buffer.byteLength(replyBody)} bytes`;
    };
    /** Closes `socket` as the broker would, and opens the server's next connection. */
    const reconnect = async (socket: FakeSocket, code: number) => {
      const count = sockets.length;
      socket.closedByPeer(code);
      await vi.waitFor(() => expect(sockets.length).toBe(count + 1));
      const next = sockets[count] as FakeSocket;
      next.open();
      next.receive('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n');
      for (const { id } of subscriptions(next)) next.receive(`RECEIPT\nreceipt-id:subscribe-${id}\n\n`);
      return next;
    };

    expect(await answerTo(first, 'call.1', 'x 90000')).toBe('90000 bytes'); // larger, on a connection that ends otherwise
    // Another end of the connection: nothing learned.
    const second = await reconnect(first, 1006);
    expect(lowered()).toEqual([]);
    expect(await answerTo(second, 'call.2', 'x 70000')).toBe('70000 bytes');
    expect(await answerTo(second, 'call.3', '€ 25000')).toBe('75000 bytes');
    expect(await answerTo(second, 'call.4', 'x 2000')).toBe('2000 bytes');
    // The broker refused a frame of ours: the largest sent on that connection (75,000 bytes of
    // body, though fewer characters than 70,000 x's) is over its limit, whichever it refused.
    const third = await reconnect(second, 1009);
    expect(lowered()).toEqual([
      expect.objectContaining({
        replyLimit: 74_999,
        message: expect.stringContaining('after a reply of 75000 bytes: larger replies than 74999 bytes are INTERNAL'),
      }),
    ]);
    expect(await answerTo(third, 'call.3', '€ 25000')).toBe(
      "INTERNAL: the reply is 75000 bytes, over the server's reply limit (74999, lowered from its maxReplyBytes 100000 when the broker refused a larger frame)",
    );
    expect(await answerTo(third, 'call.2', 'x 70000')).toBe('70000 bytes'); // taken before: still goes
    expect(await answerTo(third, 'call.5', 'x 74999')).toBe('74999 bytes');
    // A reply within the new limit may still be over the broker's (a frame has headers too): lowered again.
    const fourth = await reconnect(third, 1009);
    expect(lowered().at(-1)).toMatchObject({ replyLimit: 74_998 });
    // The lowered limit holds for a stream's items and an error's message too.
    expect(await answerTo(fourth, 'call.8', 'stream € 25000')).toBe(
      "INTERNAL: the reply is 75000 bytes, over the server's reply limit (74998, lowered from its maxReplyBytes 100000 when the broker refused a larger frame)",
    );
    expect(await answerTo(fourth, 'call.9', 'throw € 25000')).toBe(`INTERNAL: ${'€'.repeat(24_998)}…`);
    // A 1009 on a connection that sent no reply of more than MIN_REPLY_BYTES changes nothing.
    const fifth = await reconnect(fourth, 1006);
    expect(await answerTo(fifth, 'call.6', 'x 1000')).toBe('1000 bytes');
    const sixth = await reconnect(fifth, 1009);
    expect(lowered()).toHaveLength(2);
    expect(await answerTo(sixth, 'call.7', 'x 74998')).toBe('74998 bytes');
    void server.stop(0);
  });
});

describe('RpcServer defaultDeadlineMs', () => {
  // A tutorial client sends no expiration: a handler that never ended held back the cumulative ACK
  // of every later request, until the broker stopped delivering to the server.
  it('a request without a deadline whose handler never ends gets DEADLINE_EXCEEDED at defaultDeadlineMs, and the ACKs behind it go on', async () => {
    const handler = (request: RpcRequest) =>
      request.correlationId === 'call.1' ? new Promise<string>(() => {}) : 'ok';
    const { server, socket } = await startedOnFakeSockets({ handler, defaultDeadlineMs: 200 });
    request(socket, 'call.1');
    request(socket, 'call.2');
    await vi.waitFor(() => expect(framesOf(socket, 'SEND')).toHaveLength(1)); // call.2's answer
    expect(framesOf(socket, 'ACK')).toHaveLength(0); // held back behind call.1
    await vi.waitFor(() => expect(framesOf(socket, 'ACK')).toHaveLength(1), { timeout: 2000 });
    const late = framesOf(socket, 'SEND')[1] ?? '';
    expect([header(late, 'correlation-id'), header(late, 'rpc-error-code')]).toEqual(['call.1', 'DEADLINE_EXCEEDED']);
    expect(header(framesOf(socket, 'ACK')[0] ?? '', 'id')).toBe(String(delivered)); // call.2's, and so both
    void server.stop(0);
  });

  it("a logger that throws stops nothing: a dropped request is still acknowledged, a lost connection's requests still given back", async () => {
    const lines: string[] = [];
    const logger = {
      debug: () => {},
      info: () => {},
      warn: (_fields: object, message: string) => {
        lines.push(message);
        throw new Error('the log is full');
      },
      error: () => {},
    };
    const { handler, signals } = heldRequests();
    const { server, socket } = await startedOnFakeSockets({ handler, logger });
    deliver(socket, '/queue/rpc_queue', { 'correlation-id': 'no-reply-to' }, '1'); // dropped, with a warn line
    deliver(socket, '/queue/rpc_queue', { 'correlation-id': 'also-dropped' }, '1');
    await vi.waitFor(() => expect(framesOf(socket, 'ACK')).toHaveLength(1));
    expect(header(framesOf(socket, 'ACK')[0] ?? '', 'id')).toBe(String(delivered)); // both
    request(socket, 'held');
    await vi.waitFor(() => expect(signals).toHaveLength(1));
    socket.closedByPeer(1006); // "connection lost; reconnecting", a warn line
    expect(signals[0]?.aborted).toBe(true); // given back: its handler told to stop
    expect(lines).toEqual(expect.arrayContaining(['request dropped', 'connection lost; reconnecting']));
    void server.stop(0);
  });

  // Regression: a request given back was counted again when it came back, though never answered
  // the first time, so REQUESTS no longer added up to the answered, cancelled and in flight.
  it('stats - a request given back to the broker (its connection lost) is counted once, when it comes back and is answered', async () => {
    const held = heldRequests();
    const { server, sockets, accept } = serverOnFakeSockets({ handler: held.handler });
    const started = server.start(2000);
    const first = await accept();
    await started;
    request(first, 'call.1');
    await vi.waitFor(() => expect(held.signals).toHaveLength(1));
    first.closedByPeer(1006); // the broker requeues it
    await vi.waitFor(() => expect(server.stats).toMatchObject({ requests: 0, inFlight: 0 }));
    await vi.waitFor(() => expect(sockets).toHaveLength(2), { timeout: 2000 });
    const second = sockets[1] as FakeSocket;
    second.open();
    second.receive('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n');
    await vi.waitFor(() => expect(subscriptionTo(second, '/queue/rpc_queue')).not.toBe('none'));
    request(second, 'call.1'); // its redelivery
    await vi.waitFor(() => expect(held.releases).toHaveLength(2));
    held.releases[1]?.();
    await vi.waitFor(() => expect(framesOf(second, 'ACK')).toHaveLength(1));
    expect(server.stats).toMatchObject({ requests: 1, succeeded: 1, cancelled: 0, inFlight: 0 });
    void server.stop(0);
  });

  it('an observer that throws a value String() cannot convert is logged: no unhandled rejection, which would end the process', async () => {
    const logged: string[] = [];
    const logger = {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: (_: object, message: string) => logged.push(message),
    };
    const observer = {
      requestDone: () => {
        throw Object.create(null);
      },
    };
    const { server, socket } = await startedOnFakeSockets({ handler: () => '1', logger, observer });
    request(socket, 'call.1');
    await vi.waitFor(() => expect(logged).toEqual(['request handling failed']));
    expect(framesOf(socket, 'ACK')).toHaveLength(1);
    void server.stop(0);
  });

  it('a handler that calls stop() before its first await is answered within the grace, not handed back', async () => {
    let stopped: Promise<void> | undefined;
    const handler = async () => {
      stopped = server.stop(2000); // a "drain" procedure
      await new Promise((resolve) => setTimeout(resolve, 20));
      return 'draining';
    };
    const { server, socket } = await startedOnFakeSockets({ handler });
    request(socket, 'drain.1');
    await vi.waitFor(() => expect(stopped).toBeDefined());
    await vi.waitFor(() => expect(framesOf(socket, 'DISCONNECT')).toHaveLength(1), { timeout: 3000 });
    expect(framesOf(socket, 'SEND').map((frame) => frame.slice(frame.indexOf('\n\n') + 2))).toEqual(['draining\0']);
    expect(framesOf(socket, 'ACK')).toHaveLength(1);
    expect(framesOf(socket, 'NACK')).toHaveLength(0);
    socket.closedByPeer(1000);
    await stopped;
  });

  it('stop - a request still held when the grace ends goes back with the close: no NACK, which would have more delivered', async () => {
    const held = heldRequests();
    const { server, socket } = await startedOnFakeSockets({ handler: held.handler });
    request(socket, 'slow.1');
    await vi.waitFor(() => expect(held.signals).toHaveLength(1));
    const stopped = server.stop(0);
    await vi.waitFor(() => expect(framesOf(socket, 'DISCONNECT')).toHaveLength(1));
    expect(held.signals[0]?.aborted).toBe(true);
    expect(framesOf(socket, 'NACK')).toHaveLength(0);
    expect(framesOf(socket, 'ACK')).toHaveLength(0);
    socket.closedByPeer(1000);
    await stopped;
  });

  it('defaultDeadlineMs that is not a number of ms a timer can wait is INVALID_ARGUMENT', () => {
    for (const defaultDeadlineMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31])
      expect(codeOf({ defaultDeadlineMs }), String(defaultDeadlineMs)).toBe('INVALID_ARGUMENT');
    expect(codeOf({ defaultDeadlineMs: 1 })).toBe('none');
  });
});

describe('RpcServer reply confirmation', () => {
  /** Stops the server, the test playing the broker's part, so that nothing of it runs on into later tests. */
  async function stopOn(server: RpcServer, socket: FakeSocket): Promise<void> {
    const stopped = server.stop(0);
    await vi.waitFor(() => expect(framesOf(socket, 'DISCONNECT')).toHaveLength(1));
    socket.receive('RECEIPT\nreceipt-id:disconnect\n\n');
    socket.closedByPeer(1000);
    await stopped;
  }

  /** Serves one request and returns the socket, with the reply sent. */
  async function answerOne(options: Partial<RpcServerOptions>) {
    const { server, socket } = await startedOnFakeSockets({ handler, ...options });
    request(socket, 'call.1');
    await vi.waitFor(() => expect(framesOf(socket, 'SEND')).toHaveLength(1));
    await new Promise((resolve) => setTimeout(resolve, 0)); // an ACK would have gone with the reply by now
    return { server, socket, reply: framesOf(socket, 'SEND')[0] as string };
  }

  it('replicated queue - a request is acknowledged only once the broker confirmed its reply (a node dying in between would keep the ACK and lose the reply)', async () => {
    const { server, socket, reply } = await answerOne({ queueDeclaration: 'replicated' });
    const receiptId = header(reply, 'receipt');
    expect(receiptId).toMatch(/^reply-/);
    expect(framesOf(socket, 'ACK')).toHaveLength(0);
    socket.receive(`RECEIPT\nreceipt-id:${receiptId}\n\n`);
    await vi.waitFor(() => expect(framesOf(socket, 'ACK')).toHaveLength(1));
    await stopOn(server, socket);
  });

  it('classic queue - the reply asks for no RECEIPT, and the ACK leaves with it; confirmReplies turns it on', async () => {
    const classic = await answerOne({});
    expect(header(classic.reply, 'receipt')).toBe('');
    expect(framesOf(classic.socket, 'ACK')).toHaveLength(1);
    await stopOn(classic.server, classic.socket);
    const confirmed = await answerOne({ confirmReplies: true });
    expect(header(confirmed.reply, 'receipt')).toMatch(/^reply-/);
    expect(framesOf(confirmed.socket, 'ACK')).toHaveLength(0);
    await stopOn(confirmed.server, confirmed.socket); // its reply never confirmed: nothing waits on
  });
});

describe('RpcServer start', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('start - a timeoutMs that is not a number of ms a timer can wait is INVALID_ARGUMENT, before connecting', async () => {
    const { server, sockets } = serverOnFakeSockets({ handler: () => 'x' });
    for (const timeoutMs of [Number.POSITIVE_INFINITY, Number.NaN, 0, -1, 2 ** 31]) {
      await expect(server.start(timeoutMs), String(timeoutMs)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(sockets).toHaveLength(0);
    await server.stop(0);
  });

  // Semantics kept when start() moved from one shared promise to Waiters, which forget a start()
  // that gave up (so that a retried start() leaves nothing behind: waiters.test.ts).
  it('start - each start() that the broker leaves unconfirmed ends with UNAVAILABLE on its own; the next resolves at the confirmation', async () => {
    vi.useFakeTimers();
    const { server, accept } = serverOnFakeSockets({ handler: () => 'x' });
    const first = server.start(1000).catch((error: { code?: string }) => error.code);
    await vi.advanceTimersByTimeAsync(0);
    const socket = await accept(false); // connected, but the SUBSCRIBE not confirmed yet
    await vi.advanceTimersByTimeAsync(1000);
    expect(await first).toBe('UNAVAILABLE');
    const second = server.start(1000).catch((error: { code?: string }) => error.code);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await second).toBe('UNAVAILABLE');
    const third = server.start(5000);
    await vi.advanceTimersByTimeAsync(0);
    for (const { id } of subscriptions(socket)) socket.receive(`RECEIPT\nreceipt-id:subscribe-${id}\n\n`);
    await expect(third).resolves.toBeUndefined();
    await expect(server.start(1)).resolves.toBeUndefined(); // confirmed once: at once from now on
    const stopped = server.stop(0);
    await vi.advanceTimersByTimeAsync(0);
    socket.receive('RECEIPT\nreceipt-id:disconnect\n\n');
    socket.closedByPeer(1000);
    await stopped;
  });

  it('presence - beats only while the broker has confirmed the queue subscription on the current connection', async () => {
    vi.useFakeTimers();
    const { server, sockets, accept } = serverOnFakeSockets({ handler: () => 'x', presenceMs: 100 });
    const announced = (socket: FakeSocket) =>
      framesOf(socket, 'SEND')
        .filter((frame) => header(frame, 'destination') === PRESENCE_TOPIC)
        .map((frame) => /"kind":"(\w+)"/.exec(frame)?.[1]);
    const started = server.start(5000);
    await vi.advanceTimersByTimeAsync(0);
    const first = await accept(false);
    await vi.advanceTimersByTimeAsync(350);
    expect(announced(first)).toEqual([]);
    for (const { id } of subscriptions(first)) first.receive(`RECEIPT\nreceipt-id:subscribe-${id}\n\n`);
    await started;
    await vi.advanceTimersByTimeAsync(100);
    expect(announced(first)).toEqual(['hello', 'beat']);
    first.closedByPeer(1006); // the next connection's queue subscription stays unconfirmed
    await vi.advanceTimersByTimeAsync(10);
    const second = sockets[1] as FakeSocket;
    second.open();
    second.receive('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n');
    await vi.advanceTimersByTimeAsync(350);
    expect(announced(second)).toEqual([]);
    const stopped = server.stop(0);
    await vi.advanceTimersByTimeAsync(0);
    second.receive('RECEIPT\nreceipt-id:disconnect\n\n');
    second.closedByPeer(1000);
    await stopped;
  });

  describe('a subscription the broker refuses', () => {
    /**
     * A server declaring its queue durable, whose log lines the test reads, started (`outcome`: the
     * start()'s error) and connected on its `first` socket with the SUBSCRIBEs to `confirmed` confirmed.
     */
    async function startedAndConnected(confirmed: string[]) {
      vi.useFakeTimers();
      const lines: { level: string; message: string; reason?: string }[] = [];
      const log = (level: string) => (fields: { reason?: string }, message: string) =>
        lines.push({ level, message, reason: fields.reason });
      const logger = { debug: () => {}, info: () => {}, warn: log('warn'), error: log('error') };
      const { server, sockets } = serverOnFakeSockets({
        handler: () => 'x',
        logger,
        queueDeclaration: { durable: true },
      });
      const outcome = server.start(1000).then(
        () => undefined,
        (error: Error) => error,
      );
      await vi.waitFor(() => expect(sockets).toHaveLength(1));
      const first = sockets[0] as FakeSocket;
      await connect(first, confirmed);
      return { server, sockets, lines, first, outcome };
    }
    /** Connects `socket` and confirms the SUBSCRIBEs to `destinations` (the others stay unconfirmed). */
    async function connect(socket: FakeSocket, destinations: string[]) {
      socket.open();
      socket.receive('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n');
      for (const { id, destination } of subscriptions(socket))
        if (destinations.includes(destination)) socket.receive(`RECEIPT\nreceipt-id:subscribe-${id}\n\n`);
      await vi.advanceTimersByTimeAsync(0);
    }
    /** stop(), with the fake clock run on until its bounded DISCONNECT is over. */
    async function stopWithin(server: RpcServer) {
      const stopped = server.stop(0);
      await vi.advanceTimersByTimeAsync(10_000);
      await stopped;
    }
    const closedAtQueue =
      'ws://127.0.0.1:1/ws closed the connection as this server subscribed to /queue/rpc_queue (declaring it durable:true, auto-delete:false, exclusive:false): RabbitMQ does so when, for example, rpc_queue exists with other arguments';

    it('start - one closed at the queue’s SUBSCRIBE (a queue declared otherwise) is logged as an error naming the declaration, and start() gives up with it', async () => {
      const { server, lines, first, outcome } = await startedAndConnected([CANCEL_TOPIC]);
      first.closedByPeer(1000, 'STOMP died'); // RabbitMQ 3.10's Web-STOMP after precondition_failed
      await vi.advanceTimersByTimeAsync(1000);
      const logged = { level: 'error', message: 'subscription refused; reconnecting' };
      expect(lines).toEqual([{ ...logged, reason: expect.stringContaining(closedAtQueue) }]);
      const error = await outcome;
      expect(error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining(closedAtQueue) });
      expect(error?.cause).toMatchObject({
        code: 'CONNECTION_LOST',
        message: expect.stringContaining('fatal STOMP error'),
      });
      await stopWithin(server);
    });

    it('start - one closed before any RECEIPT names every subscription unconfirmed (their RECEIPTs are lost with the refusal)', async () => {
      const { server, lines, first } = await startedAndConnected([]);
      first.closedByPeer(1000, 'STOMP died');
      expect(lines).toEqual([
        {
          level: 'error',
          message: 'subscription refused; reconnecting',
          reason: expect.stringContaining(
            `closed the connection as this server subscribed to ${CANCEL_TOPIC}, /queue/rpc_queue (declaring it durable:true`,
          ),
        },
      ]);
      await stopWithin(server);
    });

    it('start - one whose ERROR frame does arrive before the close (RabbitMQ drops it only usually) is a refusal too', async () => {
      const { server, lines, first } = await startedAndConnected([CANCEL_TOPIC]);
      first.receive("ERROR\nmessage:PRECONDITION_FAILED\n\ninequivalent arg 'durable' for queue 'rpc_queue'\n");
      first.closedByPeer(1000);
      expect(lines.map(({ level, message }) => `${level} ${message}`)).toEqual([
        'error broker error',
        'error subscription refused; reconnecting',
      ]);
      expect(lines[1]?.reason).toContain(closedAtQueue);
      await stopWithin(server);
    });

    it('start - any other end, or a fatal close after the RECEIPT, is a lost connection as before, and a start() that gives up then says only that the subscription was not confirmed', async () => {
      const { server, sockets, lines, first, outcome } = await startedAndConnected([CANCEL_TOPIC]);
      first.closedByPeer(1000, 'STOMP died'); // refused: remembered
      await vi.advanceTimersByTimeAsync(100);
      await connect(sockets[1] as FakeSocket, [CANCEL_TOPIC]);
      (sockets[1] as FakeSocket).closedByPeer(1006); // lost before the RECEIPT, not refused: forgotten
      await vi.advanceTimersByTimeAsync(1000);
      expect(lines.map(({ level, message }) => `${level} ${message}`)).toEqual([
        'error subscription refused; reconnecting',
        'warn connection lost; reconnecting',
      ]);
      expect(await outcome).toMatchObject({
        code: 'UNAVAILABLE',
        message: 'the broker did not confirm the subscription to rpc_queue',
      });
      const third = sockets[2] as FakeSocket;
      await connect(third, [CANCEL_TOPIC, '/queue/rpc_queue']);
      await expect(server.start(1000)).resolves.toBeUndefined();
      third.closedByPeer(1000, 'STOMP died'); // after every RECEIPT: some other fatal error
      expect(lines.at(-1)).toMatchObject({ level: 'warn', message: 'connection lost; reconnecting' });
      await stopWithin(server);
    });
  });

  it('start - a stop() in the same turn as a start() on a connected server ends that start() with CLOSED at once', async () => {
    vi.useFakeTimers();
    const { server, accept } = serverOnFakeSockets({ handler: () => 'x' });
    const first = server.start(30_000).catch((error: { code?: string }) => error.code);
    await vi.advanceTimersByTimeAsync(0);
    const socket = await accept(false); // connected, the SUBSCRIBE not confirmed
    const second = server.start(30_000).then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    );
    const stopped = server.stop(0); // before the second start() has seen the connection
    await vi.advanceTimersByTimeAsync(0);
    expect(await Promise.race([second, Promise.resolve('still waiting')])).toBe('CLOSED');
    expect(await first).toBe('CLOSED');
    socket.receive('RECEIPT\nreceipt-id:disconnect\n\n');
    socket.closedByPeer(1000);
    await stopped;
    expect(vi.getTimerCount()).toBe(0);
  });

  // Regression: start() went on waiting (30 s by default) for a confirmation after stop(), holding
  // the process open, then rejected with UNAVAILABLE.
  it('start - stop() before the broker confirmed the subscription ends the wait with CLOSED, and leaves no timer', async () => {
    vi.useFakeTimers();
    const { server, accept } = serverOnFakeSockets({ handler: () => 'x' });
    const outcome = server.start().then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    );
    await vi.advanceTimersByTimeAsync(0);
    const socket = await accept(false); // connected, but the SUBSCRIBE never confirmed
    const stopped = server.stop(0);
    await vi.advanceTimersByTimeAsync(0);
    socket.receive('RECEIPT\nreceipt-id:disconnect\n\n');
    socket.closedByPeer(1000);
    await stopped;
    expect(await Promise.race([outcome, Promise.resolve('still waiting')])).toBe('CLOSED');
    expect(vi.getTimerCount()).toBe(0);
  });
});
