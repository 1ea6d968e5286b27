// The end of a bench run: the queues it made deleted, over AMQP. A module of its own, so that what
// lib.mjs gives the measured processes (latency-hooks.mjs, the servers) does not load amqplib.
import amqp from 'amqplib';
import { amqpUrl } from '../scripts/broker.mjs';
import { withTimeout } from './lib.mjs';

/**
 * Deletes the queues a run made, over AMQP. Bounded (a broker that takes the connection and never
 * answers must not hang the end of a run); a failure goes to `log`, not thrown: it must not hide
 * the error the run may be ending with.
 */
export async function deleteQueues(names, log) {
  try {
    const connection = await amqp.connect(amqpUrl(), { timeout: 5000 });
    const remove = async () => {
      const channel = await connection.createChannel();
      for (const name of names) await channel.deleteQueue(name);
    };
    const close = () => withTimeout(connection.close(), 5000, 'closing').catch(() => {});
    await withTimeout(remove(), 10_000, 'deleting the queues').finally(close);
  } catch (error) {
    log(`could not delete the queues ${names.join(', ')}: ${error.message}`);
  }
}
