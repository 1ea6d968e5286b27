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
