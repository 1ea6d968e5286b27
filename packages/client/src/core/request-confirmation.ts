/*
 * Publisher confirmation of requests: every request carries `receipt`, and the broker's RECEIPT
 * says it holds it. Over Web-STOMP a publish the broker drops (a full queue refuses it) gets
 * neither RECEIPT nor ERROR, so:
 * - an idempotent request left unconfirmed is sent again after a wait that adapts to the broker's
 *   receipt times as TCP's retransmission timeout adapts to round trips (RFC 6298: smoothed time
 *   plus four variations, at least `resendUnconfirmedMs`), doubling per re-send;
 * - a connection on which the broker confirms nothing at all for four such waits while requests
 *   wait, and no reply to any of them arrives, is reported stuck (RabbitMQ 3.10 can leave a
 *   connection that first published to a quorum queue during its leader election unable to publish
 *   there again), so it is made anew. A reply counts as progress because a busy broker flushes
 *   confirms late while replies to the same connection's requests keep coming; a stuck one
 *   delivers neither.
 */

import { RpcError } from '../errors.js';
import { PRESENCE_TOPIC } from '../protocol/presence.js';
import type { Clock, Timer } from './clock.js';
import type { Delivery } from './pending-calls.js';

/** What the sweep looks at: a request's delivery and whether it may be sent twice. */
export interface Confirmable {
  readonly delivery: Delivery;
  readonly request: { readonly idempotent: boolean };
}

export interface RequestConfirmationEvents<Call extends Confirmable> {
  /** The requests waiting now; the sweep stops when there are none. */
  pending(): Iterable<Call>;
  /** Whether requests can be sent now. */
  connected(): boolean;
  /** Send this request again. */
  resend(call: Call): void;
  /** The broker confirmed nothing and no reply came for `stuckMs` while requests waited. */
  stuck(stuckMs: number): void;
}

export class RequestConfirmation<Call extends Confirmable> {
  readonly #clock: Clock;
  readonly #minimumWaitMs: number;
  readonly #events: RequestConfirmationEvents<Call>;
  #sweep: Timer | undefined;
  /** The last RECEIPT or reply on the current connection, or when it was made. */
  #lastProgressAt = 0;
  /** Smoothed time from a request's send to its RECEIPT and its variation (RFC 6298), in ms. */
  #receiptMs: { smoothed: number; variation: number } | undefined;

  /** `resendUnconfirmedMs` 0 turns re-sending and the stuck check off. */
  constructor(clock: Clock, resendUnconfirmedMs: number, events: RequestConfirmationEvents<Call>) {
    this.#clock = clock;
    this.#minimumWaitMs = resendUnconfirmedMs;
    this.#events = events;
  }

  /** A new connection: its silence is counted from now. */
  connected(): void {
    this.#lastProgressAt = this.#clock.now();
  }

  /** A reply to one of this connection's requests: they reach a server, so it is not stuck. */
  replied(): void {
    this.#lastProgressAt = this.#clock.now();
  }

  /** How long a new request may go unconfirmed before it is sent again. */
  resendWaitMs(): number {
    if (this.#receiptMs === undefined) return this.#minimumWaitMs;
    const { smoothed, variation } = this.#receiptMs;
    return Math.max(this.#minimumWaitMs, Math.ceil(smoothed + 4 * variation));
  }

  /** Records a send of `delivery` just written to the connection; true when it was a re-send. */
  sent(delivery: Delivery): boolean {
    const now = this.#clock.now();
    if (!delivery.sent || delivery.confirmed) delivery.unconfirmedSince = now;
    delivery.sent = true;
    delivery.confirmed = false;
    delivery.lastSentAt = now;
    if (this.#minimumWaitMs > 0 && this.#sweep === undefined) this.#scheduleSweep();
    return ++delivery.sends > 1;
  }

  /** The broker's RECEIPT for a request (undefined: for one no longer waiting). */
  receipt(delivery: Delivery | undefined): void {
    this.#lastProgressAt = this.#clock.now();
    if (delivery === undefined) return;
    // Only a request sent once tells which send this RECEIPT belongs to (Karn's rule).
    if (!delivery.confirmed && delivery.sends === 1) this.#sample(this.#lastProgressAt - delivery.lastSentAt);
    delivery.confirmed = true;
  }

  stop(): void {
    this.#clock.clearTimeout(this.#sweep);
    this.#sweep = undefined;
  }

  #scheduleSweep(): void {
    this.#sweep = this.#clock.setTimeout(() => this.#resendUnconfirmed(), Math.max(50, this.#minimumWaitMs / 4));
  }

  #sample(ms: number): void {
    if (this.#receiptMs === undefined) {
      this.#receiptMs = { smoothed: ms, variation: ms / 2 };
      return;
    }
    const { smoothed, variation } = this.#receiptMs;
    this.#receiptMs = {
      smoothed: 0.875 * smoothed + 0.125 * ms,
      variation: 0.75 * variation + 0.25 * Math.abs(smoothed - ms),
    };
  }

  #resendUnconfirmed(): void {
    this.#sweep = undefined;
    const calls = [...this.#events.pending()];
    if (calls.length === 0) return; // the next send starts the sweep again
    this.#scheduleSweep();
    if (!this.#events.connected()) return; // unsent calls go out after the reconnect anyway
    const now = this.#clock.now();
    const stuckMs = 4 * this.resendWaitMs();
    let stuck = false;
    for (const call of calls) {
      const { delivery } = call;
      if (!delivery.sent || delivery.confirmed) continue;
      if (now - delivery.unconfirmedSince >= stuckMs && now - this.#lastProgressAt >= stuckMs) stuck = true;
      if (!call.request.idempotent || now - delivery.lastSentAt < delivery.confirmWaitMs) continue;
      delivery.confirmWaitMs *= 2;
      this.#events.resend(call);
    }
    if (stuck) this.#events.stuck(stuckMs);
  }
}

/**
 * The error of a call whose deadline passed: OVERLOADED when the broker never confirmed the request
 * on a connection that stayed up the whole call; NO_SERVERS when it was sent on such a connection
 * and nothing is known to consume its queue (`unanswered`: no server announced itself for it and
 * nothing answered it while the call waited); TIMEOUT otherwise, with the connection's trouble as
 * the cause when that is why no reply came (a request just re-sent on a new connection is
 * unconfirmed because it is new, not because the broker refused it).
 */
export function deadlineError(
  call: Confirmable & {
    readonly request: { readonly destination: string; readonly queue: string | undefined };
    readonly timeoutMs: number;
  },
  connection: { confirmRequests: boolean; connected: boolean; trouble: RpcError | undefined; unanswered?: boolean },
): RpcError {
  const { delivery, request, timeoutMs } = call;
  const { confirmRequests, connected, trouble, unanswered = false } = connection;
  if (confirmRequests && delivery.sent && !delivery.confirmed && !delivery.dropped && connected) {
    return new RpcError(
      'OVERLOADED',
      `the broker did not accept the request to ${request.destination} within ${timeoutMs} ms: the queue is full or the broker too busy`,
    );
  }
  if (connected && (!delivery.dropped || trouble === undefined)) {
    if (unanswered && delivery.sends > 0 && request.queue !== undefined)
      return noServerAnswered(request.queue, timeoutMs);
    return new RpcError('TIMEOUT', `no reply from ${request.destination} within ${timeoutMs} ms`);
  }
  const why = connected ? 'the connection dropped while it waited' : 'not connected to the broker';
  const detail = trouble ? `: ${trouble.message}` : '';
  return new RpcError('TIMEOUT', `no reply within ${timeoutMs} ms; ${why}${detail}`, { cause: trouble });
}

function noServerAnswered(queue: string, timeoutMs: number): RpcError {
  return new RpcError(
    'NO_SERVERS',
    `nothing answered ${queue} within ${timeoutMs} ms and no server announced itself on ${PRESENCE_TOPIC}: ` +
      `is a server consuming ${queue}? Start one (npm run server) or check the queue name; a slow server ` +
      'that does not announce itself (like the tutorial’s) needs a longer timeoutMs',
  );
}
