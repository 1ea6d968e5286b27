import { describe, expect, it } from 'vitest';
import { fakeClient } from '../../test/fake-transport.js';
import { Header } from '../protocol/wire.js';
import { FibonacciRpcClient } from './fibonacci-client.js';

describe('FibonacciRpcClient on a shared RpcClient', () => {
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

  it('close() - a call already under way runs to its end', async () => {
    const { client, transport } = fakeClient();
    transport.connect();
    const fib = new FibonacciRpcClient({ client });
    const answer = fib.call(10);
    await fib.close();
    transport.deliver({ [Header.correlationId]: transport.onlyCorrelationId() }, '55');
    await expect(answer).resolves.toBe(55n);
  });
});
