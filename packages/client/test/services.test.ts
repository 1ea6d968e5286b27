// Services compose a client: several service clients share one RpcClient, so one connection and
// one reply queue serve them all.
import { FibonacciRpcClient, RpcClient } from '@stomp-rpc/client';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BROKER_URL, rejectionCode, startServer, uniqueQueue } from '../../../test/support.js';

describe('services', () => {
  it('services - two service clients share one connection; closing one leaves the other working', async () => {
    const [first, second] = [uniqueQueue('shared-a'), uniqueQueue('shared-b')];
    await Promise.all([startServer(first), startServer(second)]);
    const rpc = new RpcClient({ url: BROKER_URL });
    onTestFinished(() => rpc.close());
    const a = new FibonacciRpcClient({ client: rpc, queue: first });
    const b = new FibonacciRpcClient({ client: rpc, queue: second });
    const [fromA, fromB] = await Promise.all([a.callDetailed(20), b.callDetailed(21)]);
    expect([fromA.value, fromB.value]).toEqual([6765n, 10946n]);
    expect(fromA.server).not.toBe(fromB.server); // each queue's own server answered
    expect(rpc.stats).toMatchObject({ calls: 2, succeeded: 2, reconnects: 0 });

    await a.close(); // a service that does not own the connection leaves it open
    expect(rpc.state).toBe('connected');
    expect(await rejectionCode(a.call(10))).toBe('CLOSED');
    expect(await b.call(10)).toBe(55n);
    await rpc.close();
    expect(await rejectionCode(b.call(10))).toBe('CLOSED');
  });

  it('services - a service client made from options owns its connection and closes it', async () => {
    const queue = uniqueQueue('owned');
    await startServer(queue);
    const client = new FibonacciRpcClient({ url: BROKER_URL, queue });
    onTestFinished(() => client.close());
    expect(await client.call(12)).toBe(144n);
    await client.close();
    expect(client.rpc.state).toBe('closed');
  });
});
