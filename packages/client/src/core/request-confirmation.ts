/*
 * Publisher confirmation of requests: every request batch carries `receipt`, as does every
 * request that is not idempotent (request-batches.ts), and the broker's RECEIPT says it holds it.
 * Over Web-STOMP a publish the broker drops (a full queue refuses it) gets neither RECEIPT nor
 * ERROR. A missing RECEIPT is read one of two ways:
 * - the broker handled the request and did not confirm it: a full queue refused it, so an
 *   idempotent request is sent again, after a wait that adapts to the broker's receipt times as
 *   TCP's retransmission timeout adapts to round trips (RFC 6298), doubling per re-send;
 * - the broker has not got to the request yet: it is busy (a storm of connections, each first
 *   request making its reply queue, a metadata transaction that holds up the connection's frames),
 *   and re-sending would only add to what it must get through, so the client waits.
 * The broker handles a connection's frames in order, so a RECEIPT for a later frame shows it got to
 * the earlier ones. When a request's wait runs out and nothing later was confirmed, the client asks
 * with a probe: a frame the broker answers itself, touching no queue (protocol/wire.ts
 * probeFrames), so its RECEIPT comes as soon as the broker reaches it.
 *
 * A connection on which requests wait unconfirmed and no reply comes for four waits is stuck
 * (RabbitMQ 3.10: a connection whose first publish to a quorum queue comes while the queue's record
 * still names its dead leader asks that node, on every publish, before registering as a publisher,
 * and drops the publish when the node is down (rabbit_fifo_client:enqueue), until it comes back)
 * and is made anew, but only by a client that knows how fast this broker confirms
 * (a receipt time sampled), and only once no request it did confirm still waits for its reply: a
 * full queue looks the same, and its accepted requests must not lose their replies. The requests
 * it handled without confirming, and that will not be sent again, then end with OVERLOADED.
 * A client that has never had a RECEIPT cannot tell a stuck connection from a busy broker, and
 * reconnecting a thousand such clients at once is how a storm feeds itself: it waits
 * UNSAMPLED_PATIENCE_MS unless the broker is known to have handled the requests. A reply counts as
 * progress because a busy broker flushes confirms late while replies to the same connection's
 * requests keep coming; a stuck one delivers neither.
 */

import { RpcError } from '../errors.js';
import { PING_TOPIC, PRESENCE_TOPIC } from '../protocol/presence.js';
import type { Clock, Timer } from './clock.js';
import type { Delivery } from './pending-calls.js';

/** How long a client that has never had a RECEIPT waits for the broker to reach its requests. */
export const UNSAMPLED_PATIENCE_MS = 30_000;
/** Receipt ids of probes start with this; request batches use correlation ids. */
const PROBE_PREFIX = 'probe-';

/** What the sweep looks at: a request's delivery, whether it may be sent twice, and its deadline. */
export interface Confirmable {
  readonly delivery: Delivery;
  readonly request: { readonly idempotent: boolean };
  /** A clock time. */
  readonly deadline: number;
}

export interface RequestConfirmationEvents<Call extends Confirmable> {
  /** The requests waiting now; the sweep stops when there are none. */
  pending(): Iterable<Call>;
  /** Whether requests can be sent now. */
  connected(): boolean;
  /** Send this request again. */
  resend(call: Call): void;
  /** Writes a probe whose RECEIPT is `receiptId`; false when the connection is gone. */
  probe(receiptId: string): boolean;
  /**
   * Requests wait unconfirmed and no reply came for too long (`why` says how long and how it was
   * told): the connection is made anew. Not while a confirmed request still waits for its reply,
   * which the new connection could not receive.
   */
  stuck(why: string): void;
  /**
   * Just before `stuck`: a request the broker handled and never confirmed, that will not be sent
   * again (not idempotent). A full queue refused it, or the connection cannot publish to it.
   */
  refused(call: Call): void;
}

export class RequestConfirmation<Call extends Confirmable> {
  readonly #clock: Clock;
  readonly #minimumWaitMs: number;
  readonly #events: RequestConfirmationEvents<Call>;
  #sweep: Timer | undefined;
  /** The last RECEIPT for a request or reply on the current connection, or when it was made. */
  #lastProgressAt = 0;
  /** Smoothed time from a request's send to its RECEIPT and its variation (RFC 6298), in ms. */
  #receiptMs: { smoothed: number; variation: number } | undefined;
  /** Every write (request or probe) is numbered, in the order the broker will handle them. */
  #writes = 0;
  /** The newest write the broker is known to have handled on this connection. */
  #handledUpTo = 0;
  /** The probe awaiting its RECEIPT. */
  #probe: { id: string; write: number; sentAt: number } | undefined;
  #probes = 0;

  /** `resendUnconfirmedMs` 0 turns re-sending, probes and the stuck check off. */
  constructor(clock: Clock, resendUnconfirmedMs: number, events: RequestConfirmationEvents<Call>) {
    this.#clock = clock;
    this.#minimumWaitMs = resendUnconfirmedMs;
    this.#events = events;
  }

  /** A new connection: its silence is counted from now, and nothing on it is handled yet. */
  connected(): void {
    this.#lastProgressAt = this.#clock.now();
    this.#handledUpTo = this.#writes;
    this.#probe = undefined;
  }

  /** A reply to one of this connection's requests: they reach a server, so it is not stuck; and that request was accepted. */
  replied(delivery: Delivery): void {
    this.#lastProgressAt = this.#clock.now();
    delivery.confirmed = true;
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
    if (!delivery.sent || delivery.confirmed) {
      delivery.unconfirmedSince = now;
      delivery.handledSince = undefined;
    }
    delivery.resentHere = delivery.sent;
    delivery.sent = true;
    delivery.confirmed = false;
    delivery.lastSentAt = now;
    delivery.lastWrite = ++this.#writes;
    delivery.handledAt = undefined;
    if (this.#minimumWaitMs > 0 && this.#sweep === undefined) this.#scheduleSweep();
    return ++delivery.sends > 1;
  }

  /** Whether a RECEIPT id is a probe's (see probeReceipt) rather than a request batch's. */
  isProbe(receiptId: string): boolean {
    return receiptId.startsWith(PROBE_PREFIX);
  }

  /** The broker's RECEIPT for a request (undefined: for one no longer waiting). */
  receipt(delivery: Delivery | undefined): void {
    this.#lastProgressAt = this.#clock.now();
    if (delivery === undefined) return;
    // Only a request sent once tells which send this RECEIPT belongs to (Karn's rule).
    if (!delivery.confirmed && delivery.sends === 1) {
      this.#sample(this.#lastProgressAt - delivery.lastSentAt);
      this.#handledUpTo = Math.max(this.#handledUpTo, delivery.lastWrite);
    }
    delivery.confirmed = true;
  }

  /** A probe's RECEIPT: the broker has handled every write before it. Not progress of requests. */
  probeReceipt(receiptId: string): void {
    if (this.#probe?.id !== receiptId) return; // one of an earlier connection
    this.#handledUpTo = Math.max(this.#handledUpTo, this.#probe.write);
    this.#probe = undefined;
  }

  stop(): void {
    this.#clock.clearTimeout(this.#sweep);
    this.#sweep = undefined;
  }

  #scheduleSweep(): void {
    this.#sweep = this.#clock.setTimeout(() => this.#resendUnconfirmed(), Math.max(50, this.#minimumWaitMs / 4));
  }

  /** How long the broker usually takes to accept a request: the smoothed receipt time, or the first wait before any. */
  #acceptMs(): number {
    return this.#receiptMs?.smoothed ?? this.#minimumWaitMs;
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
    const waitMs = this.resendWaitMs();
    const stuckMs = 4 * waitMs;
    // Requests the broker has not reached: abnormal after four waits only to a client that knows them.
    const unreachedMs = this.#receiptMs === undefined ? Math.max(UNSAMPLED_PATIENCE_MS, stuckMs) : stuckMs;
    const silentMs = now - this.#lastProgressAt;
    this.#retireIgnoredProbe(now, waitMs);
    let stuck: string | undefined;
    let overdue = false;
    let awaitingReply = false;
    const refused: Call[] = [];
    for (const call of calls) {
      const { delivery } = call;
      if (delivery.sent && delivery.confirmed) awaitingReply = true;
      if (!delivery.sent || delivery.confirmed) continue;
      if (delivery.handledAt === undefined && delivery.lastWrite <= this.#handledUpTo) {
        delivery.handledAt = now;
        delivery.handledSince ??= now;
      }
      // Handled and unconfirmed: refused, unless its RECEIPT trails the handling (within one wait).
      // Counted from the first handling: a copy sent since changes nothing of what the broker did.
      if (delivery.handledSince !== undefined && Math.min(now - delivery.handledSince, silentMs) >= stuckMs) {
        stuck = `the broker handled requests but confirmed none for ${stuckMs} ms`;
        if (!call.request.idempotent) refused.push(call); // one handled since may still be confirmed
      }
      if (delivery.handledAt === undefined) {
        if (now - delivery.lastSentAt >= Math.min(delivery.confirmWaitMs, stuckMs)) overdue = true;
        // Not for a request whose earlier copy the broker handled: the rule above counts that one.
        if (delivery.handledSince === undefined && Math.min(now - delivery.unconfirmedSince, silentMs) >= unreachedMs) {
          stuck = `the broker handled none of the requests sent ${unreachedMs} ms ago`;
        }
        continue;
      }
      if (!call.request.idempotent || now - delivery.handledAt < waitMs) continue;
      if (now - delivery.lastSentAt < delivery.confirmWaitMs) continue;
      // A copy with less time left than the broker takes to accept a request would expire in the
      // queue or leave a server almost none (refused with DEADLINE_EXCEEDED, which under load can
      // come before the call's own timer and hide why this one went unanswered).
      if (call.deadline - now < this.#acceptMs()) continue;
      delivery.confirmWaitMs *= 2;
      this.#events.resend(call);
    }
    // A full queue looks the same as a stuck connection; remaking the connection then would lose
    // the replies of the requests it did accept, so that waits until none is left (their deadlines bound it).
    if (stuck !== undefined && !awaitingReply) {
      for (const call of refused) this.#events.refused(call);
      this.#events.stuck(stuck);
    } else if (overdue && this.#probe === undefined) this.#sendProbe();
  }

  #sendProbe(): void {
    const id = `${PROBE_PREFIX}${++this.#probes}`;
    const write = ++this.#writes;
    if (this.#events.probe(id)) this.#probe = { id, write, sentAt: this.#clock.now() };
  }

  /**
   * A probe unanswered for two waits while RECEIPTs or replies still came after it: the broker is
   * not busy with this connection, so waiting for the probe tells nothing; the requests written
   * before it are taken as handled, and re-sent, as before probes (seen once in a quorum queue's
   * leader election). It is retired, so that a later wait sends a probe of its own.
   */
  #retireIgnoredProbe(now: number, waitMs: number): void {
    const probe = this.#probe;
    if (probe === undefined || now - probe.sentAt < 2 * waitMs || this.#lastProgressAt <= probe.sentAt) return;
    this.#handledUpTo = Math.max(this.#handledUpTo, probe.write);
    this.#probe = undefined;
  }
}

/** What deadlineError needs to know besides the call: the connection, presence and the time. */
export interface DeadlineContext {
  confirmRequests: boolean;
  connected: boolean;
  /** Why the connection last failed or ended, if it did. */
  trouble: RpcError | undefined;
  /** Nothing is known to consume the call's queue (see deadlineError). */
  unanswered: boolean;
  /** The client's clock at the deadline. */
  now: number;
  /** One wait of request confirmation now (RequestConfirmation.resendWaitMs). */
  confirmWaitMs: number;
}

/**
 * The error of a call whose deadline passed: OVERLOADED when the broker never confirmed the request
 * on a connection that stayed up the whole call, or, after a drop, is known to have handled it on
 * the current one without confirming it (the stuck check makes anew a connection a full queue
 * refuses requests on), though it had time to: one wait of request confirmation
 * (`confirmWaitMs`), or half the call's time if that is shorter, by `now` (a request
 * sent just before the deadline, after waiting for the connection, says nothing of the queue);
 * NO_SERVERS when it was sent on such a connection and the client knows nothing consumes its
 * queue (`unanswered`: no server announced itself for it, nothing answered it while the call
 * waited, and a ping the broker took promptly went unanswered: server-discovery.ts askedInVain);
 * TIMEOUT otherwise, with the connection's trouble as the cause when that is why no reply came (a
 * request just re-sent on a new connection is unconfirmed because it is new, not because the
 * broker refused it). A stream that had items is TIMEOUT saying how many came: a server took it.
 */
export function deadlineError(
  call: Confirmable & {
    readonly request: { readonly destination: string; readonly queue: string | undefined };
    readonly timeoutMs: number;
    /** A streamed call: the items that arrived, from a server that took the request. */
    readonly nextItem?: number;
  },
  connection: DeadlineContext,
): RpcError {
  const { delivery, request, timeoutMs } = call;
  const { confirmRequests, connected, trouble, unanswered, now, confirmWaitMs } = connection;
  const items = call.nextItem ?? 0;
  const hadTime = now - delivery.unconfirmedSince >= Math.min(confirmWaitMs, timeoutMs / 2);
  // After a drop, only the broker handling this copy on the current connection shows a refusal (a
  // fatal ERROR ends the connection before any later frame is handled).
  const refusedHere = !delivery.dropped || delivery.handledSince !== undefined;
  const unconfirmed = confirmRequests && delivery.sent && !delivery.confirmed && refusedHere;
  if (items === 0 && unconfirmed && connected && hadTime) {
    return new RpcError(
      'OVERLOADED',
      `the broker did not accept the request to ${request.destination} within ${timeoutMs} ms: the queue is full or the broker too busy`,
    );
  }
  const streamed = items > 0 && `the stream from ${request.destination} did not end within ${timeoutMs} ms`;
  const arrived = `${items} item${items === 1 ? '' : 's'} arrived`;
  if (connected && (!delivery.dropped || trouble === undefined)) {
    if (streamed) return new RpcError('TIMEOUT', `${streamed}; ${arrived}`);
    if (unanswered && delivery.sends > 0 && request.queue !== undefined)
      return noServerAnswered(request.queue, timeoutMs);
    return new RpcError('TIMEOUT', `no reply from ${request.destination} within ${timeoutMs} ms`);
  }
  const why = connected ? 'the connection dropped while it waited' : 'not connected to the broker';
  const detail = trouble ? `: ${trouble.message}` : '';
  const missed = streamed ? `${streamed} (${arrived})` : `no reply within ${timeoutMs} ms`;
  return new RpcError('TIMEOUT', `${missed}; ${why}${detail}`, { cause: trouble });
}

function noServerAnswered(queue: string, timeoutMs: number): RpcError {
  return new RpcError(
    'NO_SERVERS',
    `nothing answered ${queue} within ${timeoutMs} ms and no server announced itself on ${PRESENCE_TOPIC} ` +
      `or answered a ping on ${PING_TOPIC}: ` +
      `is a server consuming ${queue}? Start one, or check the queue name; a slow server ` +
      'that does not announce itself (like the tutorial’s) needs a longer timeoutMs',
  );
}

/** A request the broker handled but never confirmed, and that will not be sent again. */
export function refusedError(destination: string): RpcError {
  return new RpcError(
    'OVERLOADED',
    `the broker did not accept the request to ${destination}: the queue is full, or this connection cannot publish to it (it is made anew)`,
  );
}
