// A poison request cannot loop forever: the replicated profile's policy (rpc-queue-limits-quorum in
// rabbitmq-conf/definitions.json) gives rpc_queue a delivery limit and dead-letters what exceeds it.
import { StompConnection, type StompMessage } from '@stomp-rpc/client/internal';
import { queueDeclarationHeaders, resolveQueueDeclaration } from '@stomp-rpc/client/protocol';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type NodeProfile, nodePid } from '../../scripts/broker.mjs';
import { queueStat, until } from '../support.js';
import { CLUSTER_NODES, QUEUE, sleep, urlsFrom } from './cluster-support.js';

const DEAD_LETTER_QUEUE = 'rpc_queue.dead-letter';
const DELIVERY_LIMIT = 5; // rabbitmq-conf/definitions.json

async function connect(): Promise<StompConnection> {
  const connection = new StompConnection({ url: urlsFrom(CLUSTER_NODES[0] as NodeProfile) });
  onTestFinished(() => connection.close());
  connection.start();
  await connection.whenConnected(10_000);
  return connection;
}

/**
 * Consumers of rpc_queue as the queue itself counts them (the management API lags by seconds): the
 * servers of a test that just ended may still be attached for a moment.
 */
function rpcQueueConsumers(): number {
  const node = CLUSTER_NODES.find((member) => nodePid(member) !== undefined);
  if (!node) throw new Error('no cluster member runs');
  const consumers = queueStat(node, QUEUE, 'consumers');
  if (consumers === undefined) throw new Error(`${QUEUE} is not listed`);
  return consumers;
}

describe('poison requests (quorum rpc_queue)', () => {
  it(`a request handed back ${DELIVERY_LIMIT + 1} times is dead-lettered to ${DEAD_LETTER_QUEUE}, not redelivered forever`, async () => {
    const declare = queueDeclarationHeaders(resolveQueueDeclaration('replicated'));
    const correlationId = `poison-${process.pid}-${Date.now()}`;
    const connection = await connect();

    // A consumer that crashes on this request, as a server would: it hands it back every time.
    const deliveries: StompMessage[] = [];
    const { confirmed } = connection.subscribe(
      `/queue/${QUEUE}`,
      (message) => {
        if (message.headers['correlation-id'] === correlationId) deliveries.push(message);
        message.nack();
      },
      { ...declare, ack: 'client-individual', 'prefetch-count': '1' },
    );
    await confirmed;
    // Only this consumer may see the request, or a hand-back by another (a server of the previous
    // test still detaching) would count towards the limit before this one sees it.
    await until(() => rpcQueueConsumers() === 1, 20_000, `this test's consumer to be the only one of ${QUEUE}`);
    connection.publish({
      destination: `/queue/${QUEUE}`,
      headers: { ...declare, 'correlation-id': correlationId, 'reply-to': '/temp-queue/poison' },
      body: '10',
    });

    // It arrives in the dead-letter queue, which is declared by the definitions (/amq/queue: no declaration).
    const deadLetters: StompMessage[] = [];
    connection.subscribe(
      `/amq/queue/${DEAD_LETTER_QUEUE}`,
      (message) => {
        if (message.headers['correlation-id'] === correlationId) deadLetters.push(message);
        // Taken out of the way too: an older dead letter (an expired request, an earlier run's in
        // a reused checkout) handed back would come first again, and ten of them would fill the
        // prefetch window for good.
        message.ack();
      },
      { ack: 'client-individual', 'prefetch-count': '10' },
    );
    await until(() => deadLetters.length === 1, 20_000, 'the request in the dead-letter queue');
    // Quorum queues count the hand-backs: x-delivery-count 1 to 5 on the redeliveries.
    expect(deliveries.map((message) => message.headers['x-delivery-count'])).toEqual([
      undefined,
      ...Array.from({ length: DELIVERY_LIMIT }, (_, i) => String(i + 1)),
    ]);
    expect(deadLetters[0]?.body).toBe('10');
    expect(deadLetters[0]?.headers['x-first-death-reason']).toBe('delivery_limit');
    expect(deadLetters[0]?.headers['x-first-death-queue']).toBe(QUEUE);
    // And it stays there: no further delivery from rpc_queue.
    await sleep(500);
    expect(deliveries).toHaveLength(DELIVERY_LIMIT + 1);
  });
});
