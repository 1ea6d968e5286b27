import { describe, expect, it } from 'vitest';
import { fakeClient } from '../../test/fake-transport.js';
import { Header, StreamMark } from '../protocol/wire.js';
import { FibonacciRpcClient } from './fibonacci-client.js';
import { fibonacciService } from './fibonacci-definition.js';
import { ServiceClient } from './service-client.js';

describe('FibonacciRpcClient on a shared RpcClient', () => {
  // Regression: a range no server takes was sent, and failed after a round trip, or with no server
  // at the deadline, as NO_SERVERS.
  it('sequence - a range no server takes is INVALID_ARGUMENT at the first read, and nothing is sent', async () => {
    const { client, transport } = fakeClient();
    transport.connect();
    const fib = new FibonacciRpcClient({ client, queue: 'q' });
    for (const [from, to] of [
      [-1, 5],
      [10, 5],
      [1.5, 3],
      [0, 20_001],
      ['x', 5],
    ] as [number, number][]) {
      await expect(fib.sequence(from, to).next(), `${from}..${to}`).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(fib.sequence(0, 100, { pauseMs: 1000 }).next()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(transport.requests()).toEqual([]);
  });

  // Regression: null options (plain JavaScript's "none") threw a TypeError or ended INTERNAL, where
  // every rejection is an RpcError with its code; they are no options, as undefined is.
  it('null options are no options, at every entry point down to the RpcClient', async () => {
    const { client, transport } = fakeClient();
    transport.connect();
    const fib = new FibonacciRpcClient({ client, queue: 'q' });
    const service = new ServiceClient({ ...fibonacciService, queue: 'q' }, { client });
    const none = null as never;
    const calls: Promise<unknown>[] = [
      fib.call(1, none),
      fib.sequence(0, 2, none).next(),
      service.call('fib', 1, none),
      service.stream('fibSequence', { from: 0, to: 2 }, none).next(),
      client.request('/queue/q', '1', none),
      client.stream('/queue/q', '1', none).next(),
    ];
    const outcomes = calls.map((call) =>
      call.then(
        () => 'settled',
        (error: { code?: string }) => error.code ?? String(error),
      ),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(transport.requests()).toHaveLength(6);
    await client.close();
    expect(await Promise.all(outcomes)).toEqual(Array(6).fill('CLOSED'));
  });

  it("a queue or exchange name that is empty or has a '/' is INVALID_ARGUMENT at construction: its requests would go elsewhere or nowhere", () => {
    // Checked before a client of its own is made (it would connect).
    for (const options of [{ queue: '' }, { queue: 'a/b' }, { exchange: '' }, { exchange: 'a/b' }]) {
      expect(() => new FibonacciRpcClient(options), JSON.stringify(options)).toThrow(
        expect.objectContaining({
          code: 'INVALID_ARGUMENT',
          message: expect.stringMatching(/^(queue|exchange) must be/),
        }),
      );
    }
    const { client } = fakeClient({ exchange: 'rpc' });
    expect(() => new FibonacciRpcClient({ client, queue: 'q', exchange: 'rpc' })).not.toThrow();
  });

  it("the shared client's exchange is its services' too, as it is its pings' and cancels'", async () => {
    const { client, transport } = fakeClient({ exchange: 'rpc' });
    transport.connect();
    void new FibonacciRpcClient({ client, queue: 'q' }).call(1).catch(() => {});
    void new FibonacciRpcClient({ client, queue: 'q', exchange: 'rpc' }).call(1).catch(() => {});
    await Promise.resolve();
    await Promise.resolve();
    expect(transport.requests().map((frame) => frame.destination)).toEqual(['/exchange/rpc/q', '/exchange/rpc/q']);
  });

  // Its pings and cancels would go elsewhere than its requests: for a page's broker user, which
  // may publish to one exchange only, to where the broker closes the connection.
  it("an exchange that differs from the shared client's is INVALID_ARGUMENT at construction", () => {
    for (const [clientExchange, exchange] of [
      [undefined, 'rpc'],
      ['rpc', 'other'],
    ] as const) {
      const { client } = fakeClient(clientExchange === undefined ? {} : { exchange: clientExchange });
      for (const make of [
        () => new FibonacciRpcClient({ client, exchange }),
        () => new ServiceClient(fibonacciService, { client, exchange }),
      ]) {
        expect(make, `${clientExchange} ${exchange}`).toThrow(
          expect.objectContaining({
            code: 'INVALID_ARGUMENT',
            message: expect.stringContaining("the shared client's"),
          }),
        );
      }
    }
  });

  it('close() - a sequence made before and not read yet sends nothing afterwards and rejects with CLOSED', async () => {
    const { client, transport } = fakeClient();
    transport.connect();
    const fib = new FibonacciRpcClient({ client });
    const sequence = fib.sequence(1, 3); // lazy: nothing goes until the first read
    await fib.close();
    await expect(sequence.next()).rejects.toMatchObject({ code: 'CLOSED' });
    expect(transport.requests()).toEqual([]);
    expect(client.state).toBe('connected'); // the shared client stays open
  });

  it('close() - a sequence asked for afterwards rejects with CLOSED at its first read, not by throwing at the call', async () => {
    const { client, transport } = fakeClient();
    transport.connect();
    const fib = new FibonacciRpcClient({ client });
    await fib.close();
    const sequence = fib.sequence(1, 3);
    await expect(sequence.next()).rejects.toMatchObject({ code: 'CLOSED' });
    expect(transport.requests()).toEqual([]);
  });

  it('close() - a call already under way runs to its end', async () => {
    const { client, transport } = fakeClient();
    transport.connect();
    const fib = new FibonacciRpcClient({ client });
    const answer = fib.call(10);
    await fib.close();
    transport.deliver({ [Header.correlationId]: transport.onlyCorrelationId() }, '55');
    await expect(answer).resolves.toBe(55n);
  });

  it('call - a reply that is not a number rejects with BAD_REPLY, and is counted so, not as a success', async () => {
    const { client, transport } = fakeClient();
    transport.connect();
    const answer = new FibonacciRpcClient({ client }).call(10);
    transport.deliver({ [Header.correlationId]: transport.onlyCorrelationId() }, 'not a number');
    await expect(answer).rejects.toMatchObject({ code: 'BAD_REPLY' });
    expect(client.stats).toMatchObject({ calls: 1, succeeded: 0 });
    expect(client.stats.errors).toEqual({ BAD_REPLY: 1 }); // exactly: no ABORTED besides
  });

  it('sequence - an item that is not a number ends the stream with BAD_REPLY, counted so (not as ABORTED), and stops the server', async () => {
    const { client, transport } = fakeClient();
    transport.connect();
    const sequence = new FibonacciRpcClient({ client }).sequence(1, 3);
    const first = sequence.next(); // the request goes at the first read
    await Promise.resolve();
    const correlationId = transport.onlyCorrelationId();
    const item = (sequence: string, body: string) =>
      transport.deliver(
        { [Header.correlationId]: correlationId, [Header.stream]: StreamMark.item, [Header.sequence]: sequence },
        body,
      );
    item('0', '{"n":1,"value":"1"}');
    item('1', 'not a number');
    expect((await first).value).toMatchObject({ n: 1, value: 1n });
    await expect(sequence.next()).rejects.toMatchObject({ code: 'BAD_REPLY' });
    expect((await sequence.next()).done).toBe(true);
    expect(client.stats).toMatchObject({ pending: 0, succeeded: 0 });
    expect(client.stats.errors).toEqual({ BAD_REPLY: 1 }); // exactly: no ABORTED besides
    expect(transport.cancels()).toEqual([correlationId]);
  });
});
