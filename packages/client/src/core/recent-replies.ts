/*
 * When a reply last came from each queue: a queue that answers has a server, announced or not
 * (rpc-client.ts, the NO_SERVERS verdict). A reply that comes after its call ended (its deadline
 * passed on an overloaded queue, say) counts too. Bounded: an application may name a queue per
 * user or per job, and only recent replies matter, so what was heard least recently is forgotten
 * first.
 */
import { setNewest } from './bounded-recency.js';

/** The most queues whose last reply a client remembers. */
export const MAX_REPLYING_QUEUES = 1024;
/** The most calls that ended without a reply whose queue a client remembers, for a late reply. */
export const MAX_ENDED_CALLS = 1024;

export class RecentReplies {
  /** By queue, in order of time: oldest first. */
  readonly #lastAt = new Map<string, number>();
  /** The queue of each call that ended without a reply, by correlation id: oldest first. */
  readonly #ended = new Map<string, string>();

  heard(queue: string, now: number): void {
    setNewest(this.#lastAt, queue, now, MAX_REPLYING_QUEUES);
  }

  /** A call to `queue` ended without its reply (a deadline, an abort, a lost connection): the reply may still come. */
  ended(correlationId: string, queue: string): void {
    setNewest(this.#ended, correlationId, queue, MAX_ENDED_CALLS);
  }

  /** A reply no call waits for came at `now`: if it is a call's that ended, its queue answered. */
  late(correlationId: string | undefined, now: number): void {
    const queue = correlationId === undefined ? undefined : this.#ended.get(correlationId);
    if (queue !== undefined) this.heard(queue, now);
  }

  /** When a reply last came from `queue`; -Infinity if none did, or too long ago to be remembered. */
  lastAt(queue: string): number {
    return this.#lastAt.get(queue) ?? Number.NEGATIVE_INFINITY;
  }
}
