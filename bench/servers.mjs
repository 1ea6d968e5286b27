#!/usr/bin/env node
// The servers of the bench scenarios, one per process (started by run.mjs with an IPC channel):
//
//   node bench/servers.mjs stompjs  <url> <queue> <prefetch>   the tutorial's server in @stomp/stompjs
//   node bench/servers.mjs amqplib  <amqpUrl> <queue> <prefetch>   amqplib, the native AMQP path
//   node bench/servers.mjs raw-echo <url> <queue>              hand-written STOMP echo (auto-ack)
//   node bench/servers.mjs project  <url> <queue> <prefetch> <cacheBytes> <workers>
//                                   this project's RpcServer through its API, with the event-loop
//                                   delay measured in process (workers 0: no pool, all inline)
//
// Each says {ready: true} over IPC once it consumes, answers {eld} to 'eld' and 'eld-reset',
// and stops cleanly on 'stop' (or when its parent goes away).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Client } from '@stomp/stompjs';
import amqp from 'amqplib';
import WebSocket from 'ws';
import { fibDecimal, withTimeout } from './lib.mjs';
import { connectRawStomp, SCRATCH_QUEUE_HEADERS } from './stomp-wire.mjs';

const [kind, url, queue, prefetchText, cacheBytesText, workersText] = process.argv.slice(2);
const prefetch = Number(prefetchText ?? 1);

async function stompjsServer() {
  const client = new Client({
    webSocketFactory: () => new WebSocket(url, ['v12.stomp', 'v11.stomp', 'v10.stomp'], { perMessageDeflate: false }),
    connectHeaders: { login: 'guest', passcode: 'guest', host: '/' },
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
    reconnectDelay: 0,
  });
  const connected = new Promise((resolve) => {
    client.onConnect = resolve;
  });
  client.activate();
  await withTimeout(connected, 10_000, 'stompjs server connect');
  const subscribed = new Promise((resolve) => client.watchForReceipt('sub', resolve));
  client.subscribe(
    `/queue/${queue}`,
    (message) => {
      client.publish({
        destination: message.headers['reply-to'],
        body: fibDecimal(Number(message.body)),
        headers: { 'correlation-id': message.headers['correlation-id'] },
      });
      message.ack();
    },
    { ack: 'client-individual', 'prefetch-count': String(prefetch), receipt: 'sub', ...SCRATCH_QUEUE_HEADERS },
  );
  await withTimeout(subscribed, 10_000, 'stompjs server subscription');
  return () => client.deactivate();
}

async function amqplibServer() {
  const connection = await amqp.connect(url, { noDelay: true });
  const channel = await connection.createChannel();
  await channel.assertQueue(queue, { durable: false, autoDelete: true });
  await channel.prefetch(prefetch);
  await channel.consume(queue, (message) => {
    if (message === null) return;
    const { replyTo, correlationId } = message.properties;
    channel.sendToQueue(replyTo, Buffer.from(fibDecimal(Number(message.content.toString()))), { correlationId });
    channel.ack(message);
  });
  return () => connection.close();
}

async function rawEchoServer() {
  let session;
  let confirmed;
  const subscribed = new Promise((resolve) => {
    confirmed = resolve;
  });
  session = await connectRawStomp(url, {
    onFrame: (frame) => {
      if (frame.command === 'RECEIPT') confirmed();
      else if (frame.command === 'MESSAGE')
        session.send('SEND', { destination: frame.headers['reply-to'] }, frame.body);
    },
  });
  session.send('SUBSCRIBE', {
    id: '0',
    destination: `/queue/${queue}`,
    ack: 'auto',
    receipt: 'sub',
    ...SCRATCH_QUEUE_HEADERS,
  });
  await withTimeout(subscribed, 10_000, 'raw echo subscription');
  return () => session.close();
}

async function projectServer() {
  const { fibonacciHandler, RpcServer, WorkerPool } = await import('@stomp-rpc/server');
  const workers = Number(workersText ?? 1);
  const pool = workers > 0 ? new WorkerPool({ size: workers }) : undefined;
  const server = new RpcServer({
    url,
    queue,
    prefetch,
    handler: fibonacciHandler({ cacheBytes: Number(cacheBytesText ?? 33_554_432), ...(pool ? { pool } : {}) }),
  });
  await server.start(10_000);
  return async () => {
    await server.stop(2000);
    await pool?.close();
  };
}

const starters = { stompjs: stompjsServer, amqplib: amqplibServer, 'raw-echo': rawEchoServer, project: projectServer };
const start = starters[kind];
if (start === undefined) {
  process.stderr.write(`usage: servers.mjs ${Object.keys(starters).join('|')} <url> <queue> [prefetch] ...\n`);
  process.exit(2);
}

const eventLoopDelay = monitorEventLoopDelay({ resolution: 1 });
eventLoopDelay.enable();
const stop = await start();
let stopping = false;
async function shutDown() {
  if (stopping) return;
  stopping = true;
  await withTimeout(Promise.resolve(stop()), 5000, 'server stop').catch(() => {});
  process.exit(0);
}
process.on('message', (message) => {
  if (message === 'eld-reset') eventLoopDelay.reset();
  else if (message === 'eld') {
    const ms = (ns) => ns / 1e6;
    process.send({
      eld: {
        p50: ms(eventLoopDelay.percentile(50)),
        p99: ms(eventLoopDelay.percentile(99)),
        max: ms(eventLoopDelay.max),
      },
    });
  } else if (message === 'stop') void shutDown();
});
process.on('disconnect', () => void shutDown());
process.send?.({ ready: true });
