/*
 * When a reply last came from each queue: a queue that answers has a server, announced or not
 * (rpc-client.ts, the NO_SERVERS verdict). Bounded: an application may name a queue per user or per
 * job, and only recent replies matter, so the queues heard from least recently are forgotten first.
 */

/** The most queues whose last reply a client remembers. */
export const MAX_REPLYING_QUEUES = 1024;

export class RecentReplies {
  /** By queue, in order of time: oldest first. */
  readonly #lastAt = new Map<string, number>();

  heard(queue: string, now: number): void {
    this.#lastAt.delete(queue); // set again, last
    this.#lastAt.set(queue, now);
    if (this.#lastAt.size > MAX_REPLYING_QUEUES) {
      for (const oldest of this.#lastAt.keys()) {
        this.#lastAt.delete(oldest);
        break;
      }
    }
  }

  /** When a reply last came from `queue`; -Infinity if none did, or too long ago to be remembered. */
  lastAt(queue: string): number {
    return this.#lastAt.get(queue) ?? Number.NEGATIVE_INFINITY;
  }
}
