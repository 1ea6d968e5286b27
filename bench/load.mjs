#!/usr/bin/env node
// The calling side of the bench, one process per scenario (forked by run.mjs, config as JSON in
// argv[2], results back over IPC), so its CPU is the client's alone.
//
// mode 'throughput': keeps `level` calls in flight for `durationMs` (after `warmupMs`), for each
//   level and repetition, and reports calls/s, p50/p99 latency and the CPU seconds the broker, the
//   server and this process used in that window (from /proc/<pid>/stat).
// mode 'fib': fib(n) end to end (call made, exact bigint in hand) and as the server reported it;
//   and fib(n) + decimal computed right here, with no broker (the server's compute alone).
// mode 'memory': heap per pending call with `calls` calls in flight to a queue nobody consumes.
// mode 'load-large': keeps `level` fib(n) calls in flight for `durationMs`, for the event-loop
//   delay the server sees meanwhile.
// mode 'fairness': large-n calls one at a time, alone and then among `level` small calls in flight.
//
// Every loop stops by itself (lib.mjs drive(): at its window's end, at MAX_CALLS_PER_WINDOW calls
// or at MAX_ERRORS_PER_WINDOW failures), and each call has a deadline of its own: 10 s for fib(30),
// 30 s for a large n, 120 s for the memory mode's calls nobody answers.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { RxStomp, RxStompRPC } from '@stomp/rx-stomp';
import { Client } from '@stomp/stompjs';
import { FibonacciRpcClient } from '@stomp-rpc/client';
import { fibonacci } from '@stomp-rpc/server';
import amqp from 'amqplib';
import { firstValueFrom } from 'rxjs';
import WebSocket from 'ws';
import { ANSWER, cpuSeconds, drive, N, quantile, sleep, withTimeout } from './lib.mjs';
import { connectRawStomp, SCRATCH_QUEUE_HEADERS } from './stomp-wire.mjs';

const CALL_TIMEOUT_MS = 10_000;
const STOMP_PROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'];

const config = JSON.parse(process.argv[2]);
const { url, queue } = config;
const body = String(N);

function check(answer) {
  if (answer !== ANSWER) throw new Error(`wrong answer ${String(answer).slice(0, 40)}`);
}

/** A client that resolves replies by correlation id from one reply queue (the tutorial's design). */
function correlated() {
  const pending = new Map();
  return {
    expect(correlationId) {
      return withTimeout(
        new Promise((resolve) => pending.set(correlationId, resolve)),
        CALL_TIMEOUT_MS,
        'call',
      ).finally(() => pending.delete(correlationId));
    },
    deliver(correlationId, answer) {
      pending.get(correlationId)?.(answer);
    },
  };
}

const callers = {
  async project() {
    const client = new FibonacciRpcClient({ url, queue, timeoutMs: CALL_TIMEOUT_MS, ...config.clientOptions });
    await client.ready(10_000);
    // A fresh client holds its first calls for the servers' answer to its ping; wait for it.
    await client.discoverServers(300, queue);
    return {
      call: async () => {
        if ((await client.call(N)) !== 832040n) throw new Error('wrong answer');
      },
      close: () => client.close(),
    };
  },

  async 'rx-default'() {
    return rxCaller({});
  },

  async 'rx-tuned'() {
    return rxCaller({ perMessageDeflate: false, heartbeatIncoming: 0, heartbeatOutgoing: 0 });
  },

  async stompjs() {
    const replies = correlated();
    const client = new Client({
      webSocketFactory: () => new WebSocket(url, STOMP_PROTOCOLS, { perMessageDeflate: false }),
      connectHeaders: { login: 'guest', passcode: 'guest', host: '/' },
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      reconnectDelay: 0,
      onUnhandledMessage: (message) => replies.deliver(message.headers['correlation-id'], message.body),
    });
    const connected = new Promise((resolve) => {
      client.onConnect = resolve;
    });
    client.activate();
    await withTimeout(connected, 10_000, 'stompjs connect');
    return {
      call: async () => {
        const correlationId = randomUUID();
        const reply = replies.expect(correlationId);
        client.publish({
          destination: `/queue/${queue}`,
          body,
          headers: { 'reply-to': '/temp-queue/rpc', 'correlation-id': correlationId, ...SCRATCH_QUEUE_HEADERS },
        });
        check(await reply);
      },
      close: () => client.deactivate(),
    };
  },

  async amqplib() {
    const replies = correlated();
    const connection = await amqp.connect(config.amqpUrl, { noDelay: true });
    const channel = await connection.createChannel();
    await channel.consume(
      'amq.rabbitmq.reply-to',
      (message) => replies.deliver(message.properties.correlationId, message.content.toString()),
      { noAck: true },
    );
    const request = Buffer.from(body);
    return {
      call: async () => {
        const correlationId = randomUUID();
        const reply = replies.expect(correlationId);
        channel.sendToQueue(queue, request, { correlationId, replyTo: 'amq.rabbitmq.reply-to' });
        check(await reply);
      },
      close: () => connection.close(),
    };
  },

  /** The ceiling for a request/reply: the same two hops, no library, no ACK, the fewest headers. */
  async echo() {
    const replies = correlated();
    const session = await connectRawStomp(url, {
      onFrame: (frame) => {
        if (frame.command === 'MESSAGE') replies.deliver(frame.body, frame.body);
      },
    });
    const headers = { destination: `/queue/${queue}`, 'reply-to': '/temp-queue/r', ...SCRATCH_QUEUE_HEADERS };
    return bodyIdCaller(session, headers, replies);
  },

  /** One hop: a connection sending to a queue it consumes itself (auto-ack). Not an RPC. */
  async 'one-hop'() {
    const replies = correlated();
    let confirmed;
    const subscribed = new Promise((resolve) => {
      confirmed = resolve;
    });
    const session = await connectRawStomp(url, {
      onFrame: (frame) => {
        if (frame.command === 'RECEIPT') confirmed();
        else if (frame.command === 'MESSAGE') replies.deliver(frame.body, frame.body);
      },
    });
    const destination = `/queue/${queue}`;
    session.send('SUBSCRIBE', { id: '0', destination, ack: 'auto', receipt: 'sub', ...SCRATCH_QUEUE_HEADERS });
    await withTimeout(subscribed, 10_000, 'one-hop subscription');
    const headers = { destination, ...SCRATCH_QUEUE_HEADERS };
    return bodyIdCaller(session, headers, replies);
  },
};

/** Calls over a raw session whose id travels as the body and comes back as the reply's body. */
function bodyIdCaller(session, headers, replies) {
  let nextId = 0;
  return {
    call: async () => {
      const id = String(nextId++);
      const reply = replies.expect(id);
      session.send('SEND', headers, id);
      await reply;
    },
    close: () => session.close(),
  };
}

async function rxCaller({ perMessageDeflate = true, heartbeatIncoming, heartbeatOutgoing }) {
  const rxStomp = new RxStomp();
  rxStomp.configure({
    brokerURL: url,
    // Node has no global WebSocket: `ws` as a user would create it (compression offered by default).
    webSocketFactory: () => new WebSocket(url, STOMP_PROTOCOLS, { perMessageDeflate }),
    connectHeaders: { login: 'guest', passcode: 'guest', host: '/' },
    ...(heartbeatIncoming === undefined ? {} : { heartbeatIncoming, heartbeatOutgoing }),
  });
  rxStomp.activate();
  await withTimeout(firstValueFrom(rxStomp.connected$), 10_000, 'rx-stomp connect');
  const rpc = new RxStompRPC(rxStomp);
  const destination = `/queue/${queue}`;
  return {
    call: async () => {
      const reply = await withTimeout(
        firstValueFrom(rpc.rpc({ destination, body, headers: { ...SCRATCH_QUEUE_HEADERS } })),
        CALL_TIMEOUT_MS,
        'rx call',
      );
      check(reply.body);
    },
    close: () => rxStomp.deactivate(),
  };
}

function cpuNow() {
  const { pids } = config;
  return { broker: cpuSeconds(pids.broker), server: cpuSeconds(pids.server), client: cpuSeconds(process.pid) };
}

async function throughput() {
  const caller = await callers[config.scenario]();
  const runs = [];
  try {
    for (const level of config.levels) {
      if (config.warmupMs > 0) await drive(caller.call, level, config.warmupMs);
      for (let rep = 0; rep < config.reps; rep++) {
        const cpuBefore = cpuNow();
        const { latencies, errors, seconds, perSecond } = await drive(caller.call, level, config.durationMs);
        const cpuAfter = cpuNow();
        latencies.sort((a, b) => a - b);
        const cpu = {};
        for (const who of Object.keys(cpuAfter)) {
          const used = cpuAfter[who] - cpuBefore[who];
          cpu[who] = Number.isFinite(used) ? used / seconds : null; // cores busy, 0..cores
        }
        runs.push({
          level,
          rep,
          calls: latencies.length,
          errors,
          callsPerSecond: perSecond,
          p50: quantile(latencies, 0.5),
          p99: quantile(latencies, 0.99),
          cpu,
        });
      }
    }
  } finally {
    await withTimeout(Promise.resolve(caller.close()), 5000, 'close').catch(() => {});
  }
  return { runs };
}

async function fib() {
  const client = new FibonacciRpcClient({ url, queue, timeoutMs: 30_000 });
  await client.ready(10_000);
  await client.discoverServers(300, queue);
  const results = [];
  try {
    for (const n of config.ns) {
      const expected = fibonacci(n);
      const endToEnd = [];
      const server = [];
      // Uncached servers compute every call; cached ones get one call first to fill the cache.
      if (config.cached) await client.call(n);
      for (let rep = 0; rep < config.reps; rep++) {
        const startedAt = performance.now();
        const result = await client.callDetailed(n);
        endToEnd.push(performance.now() - startedAt);
        if (result.value !== expected) throw new Error(`fib(${n}) came back wrong`);
        server.push(result.serverMs ?? Number.NaN);
      }
      const computeAlone = [];
      for (let rep = 0; rep < config.reps && !config.cached; rep++) {
        const startedAt = performance.now();
        fibonacci(n).toString();
        computeAlone.push(performance.now() - startedAt);
      }
      results.push({ n, endToEnd, server, computeAlone });
    }
  } finally {
    await client.close();
  }
  return { results };
}

async function loadLarge() {
  const client = new FibonacciRpcClient({ url, queue, timeoutMs: 30_000 });
  await client.ready(10_000);
  await client.discoverServers(300, queue);
  try {
    const { latencies, errors, seconds } = await drive(() => client.call(config.n), config.level, config.durationMs);
    latencies.sort((a, b) => a - b);
    return { calls: latencies.length, errors, seconds, p50: quantile(latencies, 0.5) };
  } finally {
    await client.close();
  }
}

async function memory() {
  // Nobody consumes this queue: every call stays pending. They are sent although no server
  // announced itself (the default); their TTL (the deadline) lets the broker drop them, and run.mjs deletes the queue.
  const client = new FibonacciRpcClient({ url, queue, timeoutMs: 120_000 });
  await client.ready(10_000);
  const calls = [];
  const heapNow = async () => {
    for (let i = 0; i < 3; i++) {
      globalThis.gc();
      await sleep(20);
    }
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.external;
  };
  const before = await heapNow();
  for (let i = 0; i < config.calls; i++) calls.push(client.call(N).catch(() => {}));
  await sleep(200); // let the sockets drain what was written
  const during = await heapNow();
  const pending = client.stats.pending;
  await client.close();
  await Promise.all(calls);
  return { pending, bytesPerCall: (during - before) / config.calls };
}

/**
 * Large n among small calls: `level` small calls kept in flight (the background load) while one
 * large call at a time asks for fib(largeN + k), a new n each time so no cache answers it. The
 * large calls' latency, against the same calls with no load, shows what waits behind what.
 */
async function fairness() {
  const small = new FibonacciRpcClient({ url, queue, timeoutMs: 30_000 });
  const large = new FibonacciRpcClient({ url, queue, timeoutMs: 30_000 });
  await Promise.all([small.ready(10_000), large.ready(10_000)]);
  await Promise.all([small.discoverServers(300, queue), large.discoverServers(300, queue)]);
  let k = 0;
  const largeCalls = async (count) => {
    const latencies = [];
    for (let i = 0; i < count; i++) {
      const startedAt = performance.now();
      await large.call(config.largeN + k++);
      latencies.push(performance.now() - startedAt);
    }
    return latencies.sort((a, b) => a - b);
  };
  try {
    const alone = await largeCalls(config.largeCalls);
    const load = drive(() => small.call(N), config.level, config.durationMs);
    await sleep(200); // the load is up
    const loaded = await largeCalls(config.largeCalls);
    const { perSecond } = await load;
    const summary = (sorted) => ({ p50: quantile(sorted, 0.5), max: sorted.at(-1) });
    return { alone: summary(alone), loaded: summary(loaded), smallPerSecond: perSecond };
  } finally {
    await Promise.all([small.close(), large.close()]);
  }
}

const modes = { throughput, fib, memory, 'load-large': loadLarge, fairness };
try {
  process.send({ ok: true, ...(await modes[config.mode]()) });
} catch (error) {
  process.send({ ok: false, error: error.stack ?? String(error) });
}
process.disconnect();
// Whatever a peer library left running must not keep this process (and its CPU profile) alive.
setTimeout(() => process.exit(0), 2000).unref();
