/*
 * When this client last heard from each server itself: an announcement, an answer to a ping, a
 * reply. The view's `lastSeen` is not that: a reconnect restarts it (silence while disconnected
 * says nothing), and a client that does not watch forgets a server a few beats after it answered.
 * These times are what the client knows happened, for as long as it remembers them: which servers
 * answered a ping (discoverServers), and whether any server of a queue was heard while a call
 * waited (no NO_SERVERS then, whatever a later, unanswered ping says). Pure: time comes in as
 * arguments.
 */
import { setNewest } from './bounded-recency.js';
import { MAX_KNOWN_SERVERS } from './presence-view.js';

export class ServerContacts {
  /** By server id, in order of time: oldest first; at most MAX_KNOWN_SERVERS. */
  readonly #last = new Map<string, { readonly queue: string; readonly at: number }>();

  /** Server `id`, of `queue`, was heard from at `now`. */
  heard(id: string, queue: string, now: number): void {
    setNewest(this.#last, id, { queue, at: now }, MAX_KNOWN_SERVERS);
  }

  /** Server `id` said bye: what it said before no longer shows that it serves. */
  gone(id: string): void {
    this.#last.delete(id);
  }

  /** When server `id` was last heard from; -Infinity if never, or not remembered. */
  lastAt(id: string): number {
    return this.#last.get(id)?.at ?? Number.NEGATIVE_INFINITY;
  }

  /** Whether a server of `queue` was heard from at `since` or later. */
  heardFor(queue: string, since: number): boolean {
    for (const { queue: served, at } of this.#last.values()) if (served === queue && at >= since) return true;
    return false;
  }
}
