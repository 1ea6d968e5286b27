/*
 * The requests a caller's cancel can reach, by correlation id. A cancel counts only from the
 * caller's reply queue: the broker renders its `reply-to`, like the request's, as the sender's own
 * queue (docs/protocol.md, "Cancel", says who else can learn that name).
 *
 * One id may stand for several requests here: a client re-sends a request the broker did not
 * confirm under the same correlation id, so one server can hold two copies of one call. A cancel
 * stops every copy, and each copy leaves when it ends, whichever ends first.
 */
import { RpcError } from '@stomp-rpc/client';
import type { RequestControl } from './request-control.js';

/** A request a cancel can stop: where its reply would go (the raw `reply-to`), and its control. */
export interface CancellableRequest {
  readonly replyTo: string | undefined;
  readonly control: RequestControl;
}

export class CancellableRequests {
  readonly #byCorrelationId = new Map<string, Set<CancellableRequest>>();

  /** Makes `request` reachable by a cancel of `correlationId`, until the returned function is called. */
  add(correlationId: string, request: CancellableRequest): () => void {
    let copies = this.#byCorrelationId.get(correlationId);
    if (copies === undefined) {
      copies = new Set();
      this.#byCorrelationId.set(correlationId, copies);
    }
    copies.add(request);
    const held = copies;
    return () => {
      held.delete(request);
      if (held.size === 0 && this.#byCorrelationId.get(correlationId) === held) {
        this.#byCorrelationId.delete(correlationId);
      }
    };
  }

  /**
   * Stops every request of `correlationId` whose reply would go to the cancel's sender: ABORTED, or
   * DEADLINE_EXCEEDED when the cancel says so (`code`: its caller's deadline passed, which may be
   * before the one the server counted from delivery, the request having waited in the queue).
   */
  cancel(correlationId: string | undefined, replyTo: string | undefined, code?: string): void {
    if (correlationId === undefined || replyTo === undefined) return;
    const reason =
      code === 'DEADLINE_EXCEEDED'
        ? new RpcError(code, "the caller's deadline passed (it counts the time the request waited in the queue)")
        : new RpcError('ABORTED', 'the caller cancelled the call');
    for (const request of [...(this.#byCorrelationId.get(correlationId) ?? [])]) {
      if (request.replyTo === replyTo) request.control.abort(reason);
    }
  }
}
