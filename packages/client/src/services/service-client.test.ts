import { describe, expect, it } from 'vitest';
import { fakeClient } from '../../test/fake-transport.js';
import { Header, StreamMark } from '../protocol/wire.js';
import { ServiceClient } from './service-client.js';
import { defineService, json, procedure, streamProcedure } from './service-definition.js';

const service = defineService({
  queue: 'q',
  procedures: {
    get: procedure({ input: (input: unknown) => input as { a: number }, output: json<{ ok: boolean }>() }),
    items: streamProcedure({ input: (input: unknown) => input as { a: number }, output: json<number>() }),
  },
});

const item = (correlationId: string, sequence: number, body: string) =>
  [
    { [Header.correlationId]: correlationId, [Header.stream]: StreamMark.item, [Header.sequence]: String(sequence) },
    body,
  ] as const;

/** Lets the service client's own awaits run before the request is looked for. */
const turns = async (count = 3) => {
  for (let n = 0; n < count; n++) await Promise.resolve();
};

describe('ServiceClient stats', () => {
  // The client counts a call when its reply arrives; the service decodes it afterwards. Its caller
  // got BAD_REPLY, so the stats must say so too, not count a success.
  it('a reply the procedure cannot decode is counted as BAD_REPLY, as its caller got it', async () => {
    const { client, transport } = fakeClient();
    transport.connect();
    const answer = new ServiceClient(service, { client }).call('get', { a: 1 });
    await turns();
    transport.deliver({ [Header.correlationId]: transport.onlyCorrelationId() }, '{not json');
    await expect(answer).rejects.toMatchObject({ code: 'BAD_REPLY' });
    expect(client.stats).toMatchObject({ calls: 1, succeeded: 0 });
    expect(client.stats.errors).toEqual({ BAD_REPLY: 1 }); // exactly: no ABORTED besides
  });

  it('a stream item read after its end came, that cannot be decoded: BAD_REPLY, counted so', async () => {
    const { client, transport } = fakeClient();
    transport.connect();
    const items = new ServiceClient(service, { client }).stream('items', { a: 1 });
    const first = items.next(); // the request goes at the first read
    await turns();
    const correlationId = transport.onlyCorrelationId();
    transport.deliver(...item(correlationId, 0, '1'));
    transport.deliver(...item(correlationId, 1, 'oops'));
    transport.deliver({ [Header.correlationId]: correlationId, [Header.stream]: StreamMark.end }, '');
    expect((await first).value).toBe(1);
    await expect(items.next()).rejects.toMatchObject({ code: 'BAD_REPLY' });
    expect((await items.next()).done).toBe(true);
    await turns();
    expect(client.stats).toMatchObject({ calls: 1, succeeded: 0 });
    expect(client.stats.errors).toEqual({ BAD_REPLY: 1 }); // exactly: no ABORTED besides
  });

  it('a stream that went well is counted once, as a success', async () => {
    const { client, transport } = fakeClient();
    transport.connect();
    const items = new ServiceClient(service, { client }).stream('items', { a: 1 });
    const first = items.next();
    await turns();
    const correlationId = transport.onlyCorrelationId();
    transport.deliver(...item(correlationId, 0, '7'));
    transport.deliver({ [Header.correlationId]: correlationId, [Header.stream]: StreamMark.end }, '');
    expect((await first).value).toBe(7);
    expect((await items.next()).done).toBe(true);
    expect(client.stats).toMatchObject({ calls: 1, succeeded: 1 });
    expect(client.stats.errors).toEqual({}); // exactly: no error at all
  });
});

describe('ServiceClient calls', () => {
  const optional = defineService({
    queue: 'q',
    procedures: {
      ping: procedure({ input: (input: unknown) => input as undefined, output: json<string>() }),
      maybe: procedure({ input: (input: unknown) => input as { a: number } | undefined }),
      needed: procedure({ input: (input: unknown) => input as { a: number } }),
      ticks: streamProcedure({ input: (input: unknown) => input as undefined }),
    },
  });

  it('a procedure whose input may be undefined is called without one, as a method too; a required input stays required', async () => {
    const { client, transport } = fakeClient();
    transport.connect();
    const service = new ServiceClient(optional, { client });
    const answers = [service.call('ping'), service.procedures.ping(undefined, { timeoutMs: 500 })];
    await turns();
    const requests = transport.requests();
    expect(requests.map((frame) => [frame.headers[Header.procedure], frame.body])).toEqual([
      ['ping', ''],
      ['ping', ''],
    ]);
    for (const frame of requests)
      transport.deliver({ [Header.correlationId]: frame.headers[Header.correlationId] as string }, '"pong"');
    expect(await Promise.all(answers)).toEqual(['pong', 'pong']);
    // The types: optional where undefined is a valid input, required otherwise.
    void service.procedures.maybe;
    void service.stream('ticks');
    // @ts-expect-error: `needed` takes an input
    void service.call('needed').catch(() => {});
  });

  it('a caller’s headers go with the request, beside the procedure’s; rpc-procedure is the client’s own', async () => {
    const { client, transport } = fakeClient();
    transport.connect();
    const service = new ServiceClient(optional, { client });
    const answer = service.call('needed', { a: 1 }, { headers: { tenant: 'acme' } });
    void service
      .stream('ticks', undefined, { headers: { tenant: 'acme' } })
      .next()
      .catch(() => {});
    await turns();
    const sent = transport.requests().map((frame) => [frame.headers.tenant, frame.headers[Header.procedure]]);
    expect(sent).toEqual([
      ['acme', 'needed'],
      ['acme', 'ticks'],
    ]);
    const first = transport.requests()[0];
    transport.deliver({ [Header.correlationId]: first?.headers[Header.correlationId] as string }, '1');
    expect(await answer).toBe(1);
    await expect(service.call('ping', undefined, { headers: { [Header.procedure]: 'needed' } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: "the header rpc-procedure is the service client's own",
    });
  });

  it('calling a streamed procedure with call(), or the other way round, says which to use', async () => {
    const { client, transport } = fakeClient();
    transport.connect();
    const service = new ServiceClient(optional, { client });
    await expect(service.call('ticks' as 'ping')).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: '"ticks" of q is a streamed procedure: use stream()',
    });
    await expect(service.stream('ping' as 'ticks').next()).rejects.toMatchObject({
      message: '"ping" of q is not streamed: use call()',
    });
    await expect(service.call('nope' as 'ping')).rejects.toMatchObject({ message: 'q has no procedure "nope"' });
  });
});
