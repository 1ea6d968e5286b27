// RabbitMQ tutorial six's RPC client (Node, amqplib's promise API), for the interoperability tests.
//
// It follows the tutorial: an exclusive, server-named queue for replies, a fresh correlationId
// per call, and the answer picked out by correlationId. Unlike the tutorial it does not wait
// forever: no answer within 10 s exits with status 1. The queue name comes from RPC_QUEUE; n
// from the first argument.
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';

const queue = process.env.RPC_QUEUE || 'rpc_queue';
const DEADLINE_MS = 10_000;
const n = Number.parseInt(process.argv[2] ?? '30', 10);

const connection = await amqp.connect(process.env.AMQP_URL || 'amqp://localhost');
const channel = await connection.createChannel();

const timer = setTimeout(async () => {
  console.error(` [!] No answer from ${queue} within ${DEADLINE_MS / 1000} s`);
  await connection.close().catch(() => {});
  process.exit(1);
}, DEADLINE_MS);

const { queue: callbackQueue } = await channel.assertQueue('', { exclusive: true });
const correlationId = randomUUID();

await channel.consume(
  callbackQueue,
  async (msg) => {
    if (msg === null || msg.properties.correlationId !== correlationId) return;
    console.log(` [.] Got ${msg.content.toString()}`);
    clearTimeout(timer);
    await connection.close();
    process.exit(0);
  },
  { noAck: true },
);

console.log(` [x] Requesting fib(${n})`);
channel.sendToQueue(queue, Buffer.from(String(n)), { correlationId, replyTo: callbackQueue });
