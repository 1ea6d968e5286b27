import { RpcError } from '../errors.js';
import type { QueueDeclaration } from './wire.js';

/**
 * Named ways to declare the request queue; every client and server of one queue must use the same
 * (any difference makes the broker close the connection with precondition_failed).
 * - `tutorial`: what the tutorial's `queue_declare(queue='rpc_queue')` makes, a non-durable
 *   classic queue on one node, so the tutorial's own programs can share it.
 * - `replicated`: a durable quorum queue with a replica on every node of a cluster; it keeps
 *   working while a majority of them is up. `npm run broker:cluster` pre-declares it
 *   (rabbitmq-conf/replicated-profile.json) and its policy adds a delivery limit and
 *   dead-lettering. The tutorial's programs declare rpc_queue differently and cannot share it.
 */
export const QUEUE_PROFILES = {
  tutorial: { durable: false },
  replicated: { durable: true, arguments: { 'x-queue-type': 'quorum' } },
} as const satisfies Record<string, QueueDeclaration>;

export type QueueProfile = keyof typeof QUEUE_PROFILES;

/** The declaration a `queueDeclaration` option names or spells out; throws INVALID_ARGUMENT for unknown profiles. */
export function resolveQueueDeclaration(option: QueueDeclaration | QueueProfile = 'tutorial'): QueueDeclaration {
  if (typeof option !== 'string') return option;
  if (!Object.hasOwn(QUEUE_PROFILES, option)) {
    const known = Object.keys(QUEUE_PROFILES).join(', ');
    throw new RpcError('INVALID_ARGUMENT', `unknown queue profile ${JSON.stringify(option)} (known: ${known})`);
  }
  return QUEUE_PROFILES[option];
}
