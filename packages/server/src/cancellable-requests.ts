/*
 * The requests a caller's cancel can reach, by correlation id. A cancel counts only from the
 * caller's reply queue: the broker renders its `reply-to`, like the request's, as the sender's own
 * queue (docs/protocol.md, "Cancel", says who else can learn that name).
 *
 * One id may stand for several requests here: a client re-sends a request the broker did not
 * confirm under the same correlation id, so one server can hold two copies of one call. A cancel
 * stops every copy, and each copy leaves when it ends, whichever ends first.
 *
 * A cancel can also come before its request: one still waiting in the queue when its caller gave
 * up (or timed out: the request's `expiration` arrives as sent, not counted down by that wait).
 * The last REMEMBERED_CANCELS cancels are kept for REMEMBER_CANCEL_MS, so that such a request is
 * stopped when it arrives, before its handler runs.
 */
import { RpcError } from '@stomp-rpc/client';
import { replyDestination } from '@stomp-rpc/client/protocol';
import type { RequestControl } from './request-control.js';
import { MAX_CORRELATION_ID_LENGTH } from './request-intake.js';

/** How many cancels are kept for requests not here yet, and for how long. */
export const REMEMBERED_CANCELS = 4096;
export const REMEMBER_CANCEL_MS = 5 * 60_000;

/** A request a cancel can stop: where its reply would go (the raw `reply-to`), and its control. */
export interface CancellableRequest {
  readonly replyTo: string | undefined;
  readonly control: RequestControl;
}

interface RememberedCancel {
  readonly reason: RpcError;
  readonly at: number;
}

/**
 * A remembered cancel's key: its caller's reply queue and the call's id, so that one caller's cancel
 * never takes the place of another's for the same id (clients that count their ids from 1).
 */
const callKey = (replyTo: string, correlationId: string) => `${replyTo.length}:${replyTo}${correlationId}`;

export class CancellableRequests {
  readonly #byCorrelationId = new Map<string, Set<CancellableRequest>>();
  /** By callKey, oldest first (a Map keeps insertion order). */
  readonly #remembered = new Map<string, RememberedCancel>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /**
   * Makes `request` reachable by a cancel of `correlationId`, until the returned function is
   * called; one its caller cancelled already is stopped at once.
   */
  add(correlationId: string, request: CancellableRequest): () => void {
    let copies = this.#byCorrelationId.get(correlationId);
    if (copies === undefined) {
      copies = new Set();
      this.#byCorrelationId.set(correlationId, copies);
    }
    copies.add(request);
    const held = copies;
    const early =
      request.replyTo === undefined ? undefined : this.#remembered.get(callKey(request.replyTo, correlationId));
    if (early && this.#now() - early.at < REMEMBER_CANCEL_MS) {
      request.control.abort(early.reason);
    }
    return () => {
      held.delete(request);
      if (held.size === 0 && this.#byCorrelationId.get(correlationId) === held) {
        this.#byCorrelationId.delete(correlationId);
      }
    };
  }

  /**
   * Stops every request of `correlationId` whose reply would go to the cancel's sender, and any
   * that arrives later: ABORTED, or DEADLINE_EXCEEDED when the cancel says so (`code`: its caller's
   * deadline passed, which may be before the one the server counts from delivery).
   */
  cancel(correlationId: string | undefined, replyTo: string | undefined, code?: string): void {
    // Only ids and reply queues a request may carry (request-intake.ts): a cancel that matches no
    // request would be kept for nothing, and its headers can be as long as a frame.
    if (correlationId === undefined || correlationId.length > MAX_CORRELATION_ID_LENGTH) return;
    if (replyTo === undefined || replyDestination(replyTo) === undefined) return;
    const reason =
      code === 'DEADLINE_EXCEEDED'
        ? new RpcError(code, "the caller's deadline passed (it counts the time the request waited in the queue)")
        : new RpcError('ABORTED', 'the caller cancelled the call');
    for (const request of [...(this.#byCorrelationId.get(correlationId) ?? [])]) {
      if (request.replyTo === replyTo) request.control.abort(reason);
    }
    this.#remember(callKey(replyTo, correlationId), { reason, at: this.#now() });
  }

  /** Cancels kept for requests not here yet. */
  get remembered(): number {
    return this.#remembered.size;
  }

  #remember(key: string, cancel: RememberedCancel): void {
    this.#remembered.delete(key); // to the back: the newest
    this.#remembered.set(key, cancel);
    // The oldest go when over the count or the age, so that a burst is not kept until as many more come.
    for (const [oldKey, { at }] of this.#remembered) {
      if (this.#remembered.size <= REMEMBERED_CANCELS && cancel.at - at < REMEMBER_CANCEL_MS) break;
      this.#remembered.delete(oldKey);
    }
  }
}
