// Services (issue 18) against the broker: several typed procedures on one queue, validation with a
// Standard Schema library, unknown procedures, streamed replies, and cancellation reaching the server.
import { readFileSync } from 'node:fs';
import {
  defineService,
  fibonacciService,
  json,
  procedure,
  RpcClient,
  ServiceClient,
  streamProcedure,
} from '@stomp-rpc/client';
import { CANCEL_TOPIC, Header, queueDeclarationHeaders, REPLY_TO } from '@stomp-rpc/client/protocol';
import { type RpcRequest, serveService } from '@stomp-rpc/server';
import * as v from 'valibot';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freezeLocalBroker } from '../scripts/broker.mjs';
import { openWire } from './stomp-wire.js';
import { BROKER_URL, queueDepth, rejectionCode, spawnChild, uniqueQueue, until } from './support.js';

const calculator = (queue: string) =>
  defineService({
    queue,
    procedures: {
      add: procedure({ input: v.object({ a: v.number(), b: v.number() }), output: json<number>(), idempotent: true }),
      /** Waits until its caller cancels (or its deadline passes), then says why it stopped. */
      wait: procedure({ input: v.object({ ms: v.pipe(v.number(), v.maxValue(60_000)) }) }),
      count: streamProcedure({
        input: v.object({ to: v.pipe(v.number(), v.integer(), v.minValue(0)) }),
        output: json<number>(),
      }),
    },
  });

/**
 * Serves `calculator(queue)`; `stopped` gets each wait handler's abort reason, `started` each
 * request a wait handler got.
 */
async function serveCalculator(
  queue: string,
  stopped: unknown[] = [],
  cancels = true,
  started: RpcRequest[] = [],
  prefetch?: number,
) {
  const server = serveService(
    calculator(queue),
    {
      add: ({ a, b }) => a + b,
      wait: ({ ms }, request: RpcRequest) =>
        new Promise<string>((resolve, reject) => {
          started.push(request);
          const timer = setTimeout(() => resolve('waited'), ms);
          request.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            stopped.push(request.signal.reason);
            reject(request.signal.reason);
          });
        }),
      count: async function* ({ to }) {
        for (let n = 1; n <= to; n++) yield n;
      },
    },
    { url: BROKER_URL, cancels, prefetch },
  );
  onTestFinished(() => server.stop(1000));
  await server.start(10_000);
  return server;
}

function openService<S extends ReturnType<typeof calculator> | typeof fibonacciService>(definition: S) {
  const client = new ServiceClient(definition, { url: BROKER_URL });
  onTestFinished(() => client.close());
  return client;
}

describe('services', () => {
  it('headers - a caller’s headers reach the handler as request.headers', async () => {
    const queue = uniqueQueue('svc-headers');
    const started: RpcRequest[] = [];
    await serveCalculator(queue, [], true, started);
    const calc = openService(calculator(queue));
    expect(await calc.call('wait', { ms: 1 }, { headers: { tenant: 'acme' } })).toBe('waited');
    expect(started.map((request) => request.headers.tenant)).toEqual(['acme']);
  });

  it('procedures - several typed procedures on one queue, counted apart in the server stats', async () => {
    const queue = uniqueQueue('svc');
    const server = await serveCalculator(queue);
    const calc = openService(calculator(queue));
    expect(await calc.call('add', { a: 2, b: 40 })).toBe(42);
    expect(await calc.procedures.add({ a: 1.5, b: 1 })).toBe(2.5);
    const counted: number[] = [];
    for await (const n of calc.procedures.count({ to: 3 })) counted.push(n);
    expect(counted).toEqual([1, 2, 3]);
    expect(server.stats.procedures).toMatchObject({
      add: { requests: 2, succeeded: 2 },
      count: { requests: 1, succeeded: 1 },
    });
  });

  it('validation - a bad input is INVALID_ARGUMENT with the schema library’s message, and the handler never runs', async () => {
    const queue = uniqueQueue('svc');
    const server = await serveCalculator(queue);
    const calc = openService(calculator(queue));
    const bad = calc.call('add', { a: 1, b: 'two' } as unknown as { a: number; b: number });
    const error = await bad.catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', remote: true });
    expect((error as Error).message).toMatch(/^b: Invalid type: Expected number but received "two"/);
    expect(server.stats.procedures?.add).toMatchObject({ requests: 1, errors: { INVALID_ARGUMENT: 1 } });
  });

  it('routing - a request naming no procedure of the service is UNIMPLEMENTED; so is a bare one without a default', async () => {
    const queue = uniqueQueue('svc');
    await serveCalculator(queue);
    const calc = openService(calculator(queue));
    const declare = queueDeclarationHeaders();
    const unknown = calc.rpc.request(`/queue/${queue}`, '{}', { declare, headers: { [Header.procedure]: 'divide' } });
    expect(await rejectionCode(unknown)).toBe('UNIMPLEMENTED');
    expect(await rejectionCode(calc.rpc.request(`/queue/${queue}`, '{}', { declare }))).toBe('UNIMPLEMENTED');
  });

  // Regression: without `declare`, RabbitMQ declared the queue durable at the connection's first
  // SEND, and the queue the server had declared (not durable) made it close the connection.
  it('routing - a plain RpcClient.request() to a service’s queue needs no declaration from its caller', async () => {
    const queue = uniqueQueue('svc');
    await serveCalculator(queue);
    const rpc = new RpcClient({ url: BROKER_URL });
    onTestFinished(() => rpc.close());
    const reply = await rpc.request(`/queue/${queue}`, '{"a":1,"b":2}', { headers: { [Header.procedure]: 'add' } });
    expect(reply.body).toBe('3');
  });

  it('fibonacci - fib is the default procedure (the tutorial’s bare request) and fibSequence streams fib(from..to)', async () => {
    const queue = uniqueQueue('svc');
    const definition = { ...fibonacciService, queue };
    const server = serveService(definition, (await import('@stomp-rpc/server')).fibonacciImplementation(), {
      url: BROKER_URL,
    });
    onTestFinished(() => server.stop(1000));
    await server.start(10_000);
    const fib = openService(definition);
    expect(await fib.call('fib', 90)).toBe(2880067194370816120n);
    const bare = await fib.rpc.request(`/queue/${queue}`, '30');
    expect(bare.body).toBe('832040');
    const items = [];
    for await (const item of fib.stream('fibSequence', { from: 10, to: 15 })) items.push(item);
    expect(items).toEqual(
      [10, 11, 12, 13, 14, 15].map((n, i) => ({ n, value: [55n, 89n, 144n, 233n, 377n, 610n][i] })),
    );
    // Refused before it is sent, as a bad n is.
    expect(await rejectionCode(fib.stream('fibSequence', { from: 5, to: 4 }).next())).toBe('INVALID_ARGUMENT');
    expect(server.stats.procedures).toMatchObject({ fib: { requests: 2 }, fibSequence: { requests: 1 } });
  });

  it('cancel - aborting a call fires the handler’s signal with ABORTED, and no reply is sent', async () => {
    const queue = uniqueQueue('svc');
    const stopped: unknown[] = [];
    const server = await serveCalculator(queue, stopped);
    const calc = openService(calculator(queue));
    const controller = new AbortController();
    const call = calc.call('wait', { ms: 30_000 }, { signal: controller.signal });
    await until(() => server.stats.inFlight === 1);
    controller.abort();
    expect(await rejectionCode(call)).toBe('ABORTED');
    await until(() => stopped.length === 1);
    expect(stopped[0]).toMatchObject({ code: 'ABORTED' });
    await until(() => server.stats.inFlight === 0);
    expect(server.stats).toMatchObject({ cancelled: 1, succeeded: 0 });
    expect(server.stats.procedures?.wait).toMatchObject({ cancelled: 1, requests: 0 });
    // A reply sent for the cancelled call would come before this one: same server, same reply queue.
    await expect(calc.call('add', { a: 2, b: 3 })).resolves.toBe(5);
    expect(calc.rpc.stats.droppedReplies).toBe(0);
  });

  it('cancel - a server with cancels off does not hear them: the handler runs to its end and its reply is dropped', async () => {
    const queue = uniqueQueue('svc');
    const stopped: unknown[] = [];
    const server = await serveCalculator(queue, stopped, false);
    const calc = openService(calculator(queue));
    const controller = new AbortController();
    const call = calc.call('wait', { ms: 500 }, { signal: controller.signal });
    await until(() => server.stats.inFlight === 1);
    controller.abort();
    expect(await rejectionCode(call)).toBe('ABORTED');
    await until(() => server.stats.succeeded === 1, 5000);
    expect(stopped).toEqual([]);
    await until(() => calc.rpc.stats.droppedReplies === 1);
  });

  it('cancel - closing the client cancels its calls in flight: their handlers’ signals fire with ABORTED', async () => {
    const queue = uniqueQueue('svc');
    const stopped: unknown[] = [];
    const server = await serveCalculator(queue, stopped);
    const calc = openService(calculator(queue));
    const calls = [calc.call('wait', { ms: 30_000 }), calc.call('wait', { ms: 30_000 })];
    await until(() => server.stats.inFlight === 2);
    const codes = Promise.all(calls.map(rejectionCode));
    await calc.close();
    expect(await codes).toEqual(['CLOSED', 'CLOSED']);
    await until(() => stopped.length === 2);
    expect(stopped).toMatchObject([{ code: 'ABORTED' }, { code: 'ABORTED' }]);
    await until(() => server.stats.inFlight === 0);
    expect(server.stats).toMatchObject({ cancelled: 2, succeeded: 0 });
  });

  it('cancel - a cancel from another connection is ignored unless it names the caller’s own reply queue', async () => {
    const queue = uniqueQueue('svc');
    const stopped: unknown[] = [];
    const started: RpcRequest[] = [];
    const server = await serveCalculator(queue, stopped, true, started);
    const calc = openService(calculator(queue));
    const controller = new AbortController();
    const spared = calc.call('wait', { ms: 30_000 }, { signal: controller.signal });
    const hit = calc.call('wait', { ms: 30_000 });
    hit.catch(() => {}); // ends with the client
    await until(() => started.length === 2);
    const [first, second] = started as [RpcRequest, RpcRequest];
    const replyQueue = first.headers[Header.replyTo] as string;
    expect(replyQueue).toMatch(/^\/reply-queue\/amq\.gen-/);
    const other = await openWire();
    const cancel = (headers: Record<string, string>) =>
      other.attempt('SEND', { destination: CANCEL_TOPIC, ...headers });
    // Another connection with the first call's id: alone, and with its own reply queue.
    expect(await cancel({ [Header.correlationId]: first.correlationId })).toBe('accepted');
    expect(await cancel({ [Header.correlationId]: first.correlationId, [Header.replyTo]: REPLY_TO })).toBe('accepted');
    // Naming the caller's reply queue works (whoever knows its random name can). It comes after the
    // two above on the same topic, so once it has stopped the second call they were heard, and ignored.
    expect(await cancel({ [Header.correlationId]: second.correlationId, [Header.replyTo]: replyQueue })).toBe(
      'accepted',
    );
    await until(() => stopped.length === 1);
    expect(second.signal.aborted).toBe(true);
    expect(first.signal.aborted).toBe(false);
    expect(server.stats.inFlight).toBe(1);
    // The caller itself can.
    controller.abort();
    expect(await rejectionCode(spared)).toBe('ABORTED');
    await until(() => stopped.length === 2);
    expect(first.signal.aborted).toBe(true);
  });

  it('deadline - the handler’s signal fires with DEADLINE_EXCEEDED when the call’s deadline passes', async () => {
    const queue = uniqueQueue('svc');
    const stopped: unknown[] = [];
    await serveCalculator(queue, stopped);
    const calc = openService(calculator(queue));
    // Connected, and a deadline that leaves the server time to answer the client's "who is there?"
    // ping (else the call could end NO_SERVERS on a loaded machine).
    await calc.rpc.ready(5000);
    expect(await rejectionCode(calc.call('wait', { ms: 30_000 }, { timeoutMs: 2000 }))).toBe('TIMEOUT');
    await until(() => stopped.length === 1);
    expect(stopped[0]).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it("deadline - a request that waited in the queue is stopped at its caller's deadline, not a whole expiration after its delivery", async () => {
    const queue = uniqueQueue('svc');
    const stopped: unknown[] = [];
    const started: RpcRequest[] = [];
    // One request at a time: the second waits in the broker's queue while the first is handled.
    await serveCalculator(queue, stopped, true, started, 1);
    const calc = openService(calculator(queue));
    await calc.rpc.ready(5000);
    const first = calc.call('wait', { ms: 1500 });
    await until(() => started.length === 1);
    // Delivered about 1.5 s after it was sent, with `expiration: 5000` as sent: the server alone
    // would count its deadline to 6.5 s; its caller gives up at 5 s.
    const second = calc.call('wait', { ms: 30_000 }, { timeoutMs: 5000 });
    await expect(first).resolves.toBe('waited');
    expect(await rejectionCode(second)).toBe('TIMEOUT');
    await until(() => stopped.length === 1);
    expect(started).toHaveLength(2);
    expect(stopped[0]).toMatchObject({
      code: 'DEADLINE_EXCEEDED',
      message: expect.stringContaining("the caller's deadline"),
    });
  });

  it('cancel - a call aborted while its request waits in the queue never reaches the handler: the server kept its cancel', async () => {
    const queue = uniqueQueue('svc');
    const started: RpcRequest[] = [];
    // One request at a time: the second waits in the broker's queue while the first is handled.
    const server = await serveCalculator(queue, [], true, started, 1);
    const calc = openService(calculator(queue));
    await calc.rpc.ready(5000);
    const first = calc.call('wait', { ms: 2000 }); // time enough to see the second one queued, on a loaded machine
    await until(() => started.length === 1);
    const controller = new AbortController();
    const second = calc.call('wait', { ms: 30_000 }, { signal: controller.signal });
    await until(async () => (await queueDepth(queue)) === 1, 5000, 'the second request waiting in the queue');
    controller.abort(); // its cancel reaches the server long before the request does
    expect(await rejectionCode(second)).toBe('ABORTED');
    await expect(first).resolves.toBe('waited');
    await until(() => server.stats.cancelled === 1, 10_000, 'the queued request delivered and stopped');
    expect(started).toHaveLength(1);
  });

  it('async validation - a call cancelled while its validator runs never reaches the handler', async () => {
    const queue = uniqueQueue('svc');
    // A validator that looks something up, and answers when the test lets it: after the cancel.
    let release = () => {};
    const lookedUp = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = defineService({
      queue,
      procedures: {
        book: procedure({ input: async (value: unknown) => lookedUp.then(() => String(value)) }),
      },
    });
    let ran = 0;
    const server = serveService(slow, { book: () => ++ran }, { url: BROKER_URL });
    onTestFinished(() => server.stop(1000));
    await server.start(10_000);
    const client = new ServiceClient(slow, { url: BROKER_URL });
    onTestFinished(() => client.close());
    const controller = new AbortController();
    const call = client.call('book', 'room 7', { signal: controller.signal });
    await until(() => server.stats.inFlight === 1, 5000, 'the request to reach the server');
    controller.abort();
    expect(await rejectionCode(call)).toBe('ABORTED');
    await until(() => server.stats.inFlight === 0, 5000, 'the server to be done with it');
    release(); // the validator says the input is fine, too late
    await lookedUp;
    await server.stop(1000); // the turns a handler would start in, and more: none starts after
    expect(ran).toBe(0);
    expect(server.stats.cancelled).toBe(1);
  });

  it('stream - while the broker takes nothing (frozen), the server stops pulling items once its socket holds a backlog, and the stream ends whole', async () => {
    const queue = uniqueQueue('svc-backpressure');
    const definition = defineService({
      queue,
      procedures: { blobs: streamProcedure({ input: v.object({ count: v.number() }), output: json<string>() }) },
    });
    const item = 'x'.repeat(32 * 1024);
    const count = 2000; // 64 MiB: far more than the kernel's socket buffers between server and broker
    let pulled = 0;
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const server = serveService(
      definition,
      {
        blobs: async function* ({ count }) {
          for (let n = 0; n < count; n++) {
            if (n === 1) await gate; // the rest only once the broker is frozen
            pulled++;
            yield item;
          }
        },
      },
      { url: BROKER_URL, maxStreamBytes: 80 * 1024 * 1024 },
    );
    onTestFinished(() => server.stop(1000));
    await server.start(10_000);
    const client = new ServiceClient(definition, { url: BROKER_URL });
    onTestFinished(() => client.close());
    let received = 0;
    const options = { maxItems: count, maxBytes: 80 * 1024 * 1024, timeoutMs: 60_000 };
    const streaming = (async () => {
      for await (const blob of client.stream('blobs', { count }, options)) if (blob.length === item.length) received++;
    })();
    await until(() => received === 1, 10_000, 'the first item');
    const frozen = freezeLocalBroker(3000);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the broker is stopped by now
    openGate();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const pulledWhileFrozen = pulled;
    await frozen;
    await streaming;
    // Without back-pressure the producer was pulled to its end (64 MiB held in the server) at once.
    expect(pulledWhileFrozen).toBeLessThan(count / 2);
    expect(received).toBe(count);
  }, 60_000);

  it('stream - leaving the loop early stops the server producing', async () => {
    const queue = uniqueQueue('svc');
    const definition = { ...fibonacciService, queue };
    const { fibonacciImplementation } = await import('@stomp-rpc/server');
    const server = serveService(definition, fibonacciImplementation(), { url: BROKER_URL });
    onTestFinished(() => server.stop(1000));
    await server.start(10_000);
    const fib = openService(definition);
    const seen: number[] = [];
    // 200 ms between items: far longer than the cancel's way to the server on a loaded machine.
    for await (const item of fib.stream('fibSequence', { from: 0, to: 150, pauseMs: 200 })) {
      seen.push(item.n);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([0, 1, 2]);
    await until(() => server.stats.inFlight === 0, 5000);
    expect(server.stats.procedures?.fibSequence).toMatchObject({ cancelled: 1 });
    // At most the item already on its way when the cancel arrived came after the break.
    expect(fib.rpc.stats.droppedReplies).toBeLessThanOrEqual(2);
  });
});

/** CPU time (user + system) of a process in ms, from /proc (Linux clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

describe('services - cancellation measured', () => {
  it('12 calls of fib(~1e6) given up after 20 ms cost the server under a third of 12 completed ones', async () => {
    const queue = uniqueQueue('svc-cpu');
    const server = spawnChild(process.execPath, ['packages/server/dist/cli.js', '--workers', '1'], {
      RPC_QUEUE: queue,
      STOMP_URL: BROKER_URL,
    });
    await server.waitFor('awaiting RPC requests');
    const pid = server.process.pid as number;
    const fib = openService({ ...fibonacciService, queue });
    await fib.call('fib', 10); // connected, queue declared
    const batch = async (first: number, giveUpMs: number | undefined) => {
      const before = cpuMs(pid);
      const calls = Array.from({ length: 12 }, (_, k) =>
        fib.call('fib', first + k, {
          timeoutMs: 60_000,
          ...(giveUpMs === undefined ? {} : { signal: AbortSignal.timeout(giveUpMs) }),
        }),
      );
      const outcomes = await Promise.allSettled(calls);
      // Give the server time to finish (or stop) what it was doing.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return { ms: cpuMs(pid) - before, outcomes };
    };
    const completed = await batch(999_000, undefined);
    expect(completed.outcomes.every((outcome) => outcome.status === 'fulfilled')).toBe(true);
    const cancelled = await batch(998_000, 20);
    expect(cancelled.outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
    console.log(`server CPU: 12 completed ${completed.ms} ms, 12 given up after 20 ms ${cancelled.ms} ms`);
    expect(completed.ms).toBeGreaterThan(100); // real work (about 600 ms here), not a cached answer
    expect(cancelled.ms).toBeLessThan(completed.ms / 3);
  });
});
