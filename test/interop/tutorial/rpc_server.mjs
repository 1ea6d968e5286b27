// RabbitMQ tutorial six's RPC server (Node, amqplib's promise API), for the interoperability tests.
//
// It follows the tutorial: declare the queue non-durable, take one request at a time, answer
// fib(n) to the request's replyTo with its correlationId, then ack. Two additions keep it
// test-friendly: the queue name comes from RPC_QUEUE, and it stops by itself after 60 s or on
// SIGTERM.
import amqp from 'amqplib';

const queue = process.env.RPC_QUEUE || 'rpc_queue';
const LIFETIME_MS = 60_000;

function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

const connection = await amqp.connect(process.env.AMQP_URL || 'amqp://localhost');
const channel = await connection.createChannel();

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  try {
    await connection.close();
  } catch {
    // already closed
  }
  process.exit(code);
}
connection.on('error', (error) => {
  console.error(' [!] connection error:', error.message);
});
connection.on('close', () => {
  if (!stopping) {
    console.error(' [!] connection closed by the broker');
    process.exit(1);
  }
});
process.once('SIGTERM', () => stop(0));
setTimeout(() => stop(0), LIFETIME_MS).unref();

await channel.assertQueue(queue, { durable: false });
await channel.prefetch(1);
await channel.consume(queue, (msg) => {
  if (msg === null) return; // the broker cancelled the consumer
  const n = Number.parseInt(msg.content.toString(), 10);
  console.log(` [.] fib(${n})`);
  const response = fib(n);
  channel.sendToQueue(msg.properties.replyTo, Buffer.from(String(response)), {
    correlationId: msg.properties.correlationId,
  });
  channel.ack(msg);
});

console.log(' [x] Awaiting RPC requests');
