/*
 * Cumulative acknowledgement of deliveries (STOMP `ack: client`).
 *
 * In `client` mode RabbitMQ reads an ACK (and a NACK) as "this delivery and every earlier
 * unacknowledged one": one ACK per flush covers all the requests finished before it, where
 * `client-individual` costs the broker one frame per request (about a third of its rate, see
 * BENCHMARKS.md). The price is order: only the contiguous prefix of finished deliveries may be
 * acknowledged, so a request still being handled (a large n in a worker) holds back the ACK of
 * everything delivered after it, and those keep their place in the prefetch window meanwhile
 * (until its deadline, when the server stops waiting for it: the caller's, or defaultDeadlineMs
 * for a request without one, request-control.ts).
 * Acknowledging nothing before its reply keeps at-least-once delivery: a server killed at any
 * point loses no request, the broker redelivers what was not acknowledged.
 */

export interface AckWindowActions<Delivery> {
  /** Runs `flush` later, once for everything finished meanwhile (the server: a microtask, so the ACK joins its replies' write). */
  schedule(flush: () => void): void;
  /** ACKs this delivery, and so every earlier one. */
  ack(delivery: Delivery): void;
}

export interface AckEntry<Delivery> {
  readonly delivery: Delivery;
  finished: boolean;
}

export class AckWindow<Delivery> {
  /** Deliveries not yet acknowledged, oldest first; `#head` skips the acknowledged ones. */
  #entries: AckEntry<Delivery>[] = [];
  #head = 0;
  readonly #actions: AckWindowActions<Delivery>;
  readonly #flushLater = () => {
    this.#flushScheduled = false;
    this.flush();
  };
  #flushScheduled = false;

  constructor(actions: AckWindowActions<Delivery>) {
    this.#actions = actions;
  }

  /** Deliveries taken and not acknowledged yet. */
  get size(): number {
    return this.#entries.length - this.#head;
  }

  /** A new delivery, in the order the broker sent them. */
  add(delivery: Delivery): AckEntry<Delivery> {
    const entry = { delivery, finished: false };
    this.#entries.push(entry);
    return entry;
  }

  /** The delivery was answered (or dropped): it may be acknowledged once all earlier ones are. */
  finish(entry: AckEntry<Delivery>): void {
    entry.finished = true;
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    this.#actions.schedule(this.#flushLater);
  }

  /** Acknowledges the finished prefix with one ACK of its last delivery. */
  flush(): void {
    let last: AckEntry<Delivery> | undefined;
    while (this.#head < this.#entries.length && this.#entries[this.#head]?.finished) {
      last = this.#entries[this.#head++];
    }
    if (last === undefined) return;
    this.#actions.ack(last.delivery);
    this.#compact();
  }

  /**
   * Before the connection closes: acknowledges the finished prefix and forgets the rest, finished
   * or not, which the broker requeues at the close (what was finished behind an unfinished request
   * is answered again by whoever takes it; the caller ignores the second answer). Returns how many
   * go back. No NACK: it would free the prefetch window while the subscription still stands, and
   * the broker would deliver as many again to this closing server, each charged one more delivery
   * against a quorum queue's delivery limit.
   */
  settleForClose(): number {
    this.flush();
    const handedBack = this.size;
    this.reset();
    return handedBack;
  }

  /** The connection is gone: the broker requeued everything unacknowledged by itself. */
  reset(): void {
    this.#entries = [];
    this.#head = 0;
  }

  /** Drops acknowledged entries now and then, so the array does not grow with the server's age. */
  #compact(): void {
    if (this.#head === this.#entries.length) this.reset();
    else if (this.#head > 1024) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}
