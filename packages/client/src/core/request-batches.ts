/*
 * Requests leave in batches: those made in one turn of the event loop go out together at its end,
 * and the last of them asks for a RECEIPT, which is taken to confirm the batch's idempotent calls:
 * one frame per batch instead of one per request, on the busiest process of an RPC (BENCHMARKS.md
 * has the measured cost). A RECEIPT is the broker's publisher confirm of its own frame; it shows
 * that the broker handled the frames before it, not that it accepted them (a full queue refuses
 * one without a word). Taken wrongly, an idempotent call is not sent again and ends with TIMEOUT.
 * A call that is not idempotent asks for a RECEIPT of its own: sending again cannot mend its
 * outcome, and another frame's RECEIPT could call a request that a server will run refused
 * (OVERLOADED, which invites a retry). A RECEIPT that never comes leaves its calls unconfirmed,
 * which request confirmation then handles.
 */
import type { Delivery } from './pending-calls.js';

/** A call as batching sees it. */
export interface Batchable {
  readonly correlationId: string;
  readonly delivery: Delivery;
  readonly request: { readonly idempotent: boolean };
}

/**
 * What a RECEIPT confirms of a call: its id and its delivery. Not the call itself, whose body and
 * call-site stack a RECEIPT that never comes would otherwise keep long after the call ended.
 */
export type SentCall = Pick<Batchable, 'correlationId' | 'delivery'>;

export interface RequestBatchesEvents<Call extends Batchable> {
  /** Whether the call still waits (it may have ended while queued). */
  pending(call: Call): boolean;
  /** Writes one request, with a `receipt` header named `receiptId` when given; false when the socket is gone. */
  write(call: Call, receiptId: string | undefined): boolean;
}

/**
 * At most this many calls wait in batches for their RECEIPT (a refused publish's never comes, and
 * its batch holds a SentCall of each of its calls, settled or not); the oldest batches go first.
 */
export const MAX_UNCONFIRMED_CALLS = 100_000;

export class RequestBatches<Call extends Batchable> {
  readonly #confirm: boolean;
  readonly #defer: (send: () => void) => void;
  readonly #events: RequestBatchesEvents<Call>;
  #queued: Call[] = [];
  /** Sent calls by the RECEIPT id that will confirm them: a batch's last call's, or a call's own. */
  readonly #unconfirmed = new Map<string, SentCall[]>();
  /** The calls in #unconfirmed. */
  #held = 0;
  readonly #sendQueued = () => this.#send();

  /** `confirm`: ask for RECEIPTs at all; `defer` runs the send at the end of the turn. */
  constructor(confirm: boolean, defer: (send: () => void) => void, events: RequestBatchesEvents<Call>) {
    this.#confirm = confirm;
    this.#defer = defer;
    this.#events = events;
  }

  /** Queues a call for the end of this turn; a call already queued stays queued once. */
  add(call: Call): void {
    if (call.delivery.queued) return;
    call.delivery.queued = true;
    if (this.#queued.push(call) === 1) this.#defer(this.#sendQueued);
  }

  /** The calls a RECEIPT confirms, still pending or not; undefined for an unknown receipt. */
  confirmed(receiptId: string): SentCall[] | undefined {
    const batch = this.#unconfirmed.get(receiptId);
    if (batch === undefined) return undefined;
    this.#unconfirmed.delete(receiptId);
    this.#held -= batch.length;
    return batch;
  }

  /** A new connection: the RECEIPTs of the last one will not come. */
  reset(): void {
    this.#unconfirmed.clear();
    this.#held = 0;
  }

  #send(): void {
    const batch = this.#queued.filter((call) => {
      call.delivery.queued = false;
      return this.#events.pending(call);
    });
    this.#queued = [];
    const last = batch[batch.length - 1];
    for (const call of batch) {
      // Named before the write, which counts the send.
      const receiptId = this.#confirm && (call === last || !call.request.idempotent) ? receiptIdOf(call) : undefined;
      // A failed write leaves the rest unsent: they go out after the reconnect.
      if (!this.#events.write(call, receiptId)) return;
      if (receiptId === undefined) continue;
      const confirms = call === last ? batch.filter((c) => c === last || c.request.idempotent) : [call];
      this.#awaitReceipt(
        receiptId,
        confirms.map(({ correlationId, delivery }) => ({ correlationId, delivery })),
      );
    }
  }

  #awaitReceipt(receiptId: string, calls: SentCall[]): void {
    this.#unconfirmed.set(receiptId, calls);
    this.#held += calls.length;
    for (const [oldest, batch] of this.#unconfirmed) {
      if (this.#held <= MAX_UNCONFIRMED_CALLS || oldest === receiptId) break;
      this.#unconfirmed.delete(oldest);
      this.#held -= batch.length;
    }
  }
}

/**
 * One RECEIPT id per send: a call re-sent last in a later batch must not take over the id of the
 * batch it was first sent in, whose RECEIPT may still come and confirm the others.
 */
function receiptIdOf(call: Batchable): string {
  return call.delivery.sends === 0 ? call.correlationId : `${call.correlationId}.${call.delivery.sends}`;
}
