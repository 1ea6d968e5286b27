/*
 * The calls waiting for a reply, by correlation id: each one's deadline, abort listener and the
 * caller's stack. A call ends exactly once, by whichever comes first (reply, error, deadline,
 * abort, close), and everything it held is released with it.
 */
import { RpcError } from '../errors.js';
import type { Clock, Timer } from './clock.js';

/** What goes on the wire for a call, unchanged between sends. */
export interface OutgoingRequest {
  readonly destination: string;
  /** The queue the destination delivers to, for the presence check; undefined when unknown. */
  readonly queue: string | undefined;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Queue declaration headers, sent with the first request to the destination on each connection. */
  readonly declare?: Readonly<Record<string, string>> | undefined;
  readonly idempotent: boolean;
  readonly traceparent: string | undefined;
}

/** How a request fares on the wire; kept by the facade and request confirmation. */
export interface Delivery {
  /** Whether the request is out on the current connection. */
  sent: boolean;
  /** Whether it waits in the batch that goes out at the end of this turn. */
  queued: boolean;
  /** Whether the broker confirmed (RECEIPT) the latest send. */
  confirmed: boolean;
  /** Times it was written to a connection. */
  sends: number;
  /** Whether it went out again on the current connection (request confirmation): a copy may run. */
  resentHere: boolean;
  /** Whether a connection it was sent on dropped before the reply. */
  dropped: boolean;
  lastSentAt: number;
  /** The number of the connection's write that carried the latest send (request confirmation). */
  lastWrite: number;
  /** When the broker was first known to have handled the latest send (a later frame's RECEIPT). */
  handledAt: number | undefined;
  /** When the broker was first known to have handled any send of it on the current connection, while unconfirmed. */
  handledSince: number | undefined;
  /** When its first send on the current connection went out; unconfirmed since. */
  unconfirmedSince: number;
  /** How long the latest send may go unconfirmed before an idempotent request goes again. */
  confirmWaitMs: number;
}

export interface PendingCall<Reply> {
  readonly correlationId: string;
  readonly request: OutgoingRequest;
  readonly startedAt: number;
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly delivery: Delivery;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: RpcError) => void;
  readonly callSite: Error;
  readonly timer: Timer;
  /** The caller's signal and this call's listener on it, when it gave one. */
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
  /** A streamed call: receives each item before the end settles the call; an error returned ends the call. */
  readonly onItem: ((item: Reply) => RpcError | undefined) | undefined;
  /** A streamed call: the sequence number of the next item; a lower one is a copy and dropped. */
  nextItem: number;
}

/** Who ended a call, when the outcome alone does not say. */
export type EndedBy = 'caller' | 'server';

export interface PendingCallsEvents<Reply> {
  /** The error a call gets when its deadline passes (TIMEOUT, or OVERLOADED when never confirmed). */
  timeoutError(call: PendingCall<Reply>): RpcError;
  /**
   * Every call's end, once: for statistics and cancels. `by`: who ended it, when known: its caller
   * (an abort, a stream left or refused) or its server (an end the client refused, the run done).
   */
  settled?(call: PendingCall<Reply>, outcome: Reply | RpcError, by: EndedBy | undefined): void;
}

export class PendingCalls<Reply> {
  readonly #calls = new Map<string, PendingCall<Reply>>();
  readonly #clock: Clock;
  readonly #events: PendingCallsEvents<Reply>;

  constructor(clock: Clock, events: PendingCallsEvents<Reply>) {
    this.#clock = clock;
    this.#events = events;
  }

  get size(): number {
    return this.#calls.size;
  }

  get(correlationId: string): PendingCall<Reply> | undefined {
    return this.#calls.get(correlationId);
  }

  values(): IterableIterator<PendingCall<Reply>> {
    return this.#calls.values();
  }

  /**
   * Registers a call with its deadline and abort signal; the promise settles through settle().
   * `callSite` is captured by the caller so that an asynchronous error points at the caller's code.
   */
  add(
    correlationId: string,
    request: OutgoingRequest,
    options: {
      timeoutMs: number;
      signal: AbortSignal | undefined;
      callSite: Error;
      confirmWaitMs: number;
      onItem?: ((item: Reply) => RpcError | undefined) | undefined;
    },
  ): { call: PendingCall<Reply>; settled: Promise<Reply> } {
    let call!: PendingCall<Reply>;
    const settled = new Promise<Reply>((resolve, reject) => {
      const { timeoutMs, signal, callSite } = options;
      const now = this.#clock.now();
      // Only a call with a signal pays for a listener: this runs once per call.
      const onAbort = signal && (() => this.settle(correlationId, abortError(signal), 'caller'));
      call = {
        correlationId,
        request,
        startedAt: now,
        deadline: now + timeoutMs,
        timeoutMs,
        delivery: newDelivery(options.confirmWaitMs),
        resolve,
        reject,
        callSite,
        timer: this.#clock.setTimeout(() => this.settle(correlationId, this.#events.timeoutError(call)), timeoutMs),
        signal,
        onAbort,
        onItem: options.onItem,
        nextItem: 0,
      };
      this.#calls.set(correlationId, call);
      if (signal && onAbort) signal.addEventListener('abort', onAbort, { once: true });
    });
    return { call, settled };
  }

  /** Ends a call exactly once, releasing its timer, abort listener and entry. False if it had ended. */
  settle(correlationId: string, outcome: Reply | RpcError, by?: EndedBy): boolean {
    const call = this.#calls.get(correlationId);
    if (call === undefined) return false;
    this.#calls.delete(correlationId);
    this.#clock.clearTimeout(call.timer);
    if (call.signal && call.onAbort) call.signal.removeEventListener('abort', call.onAbort);
    this.#events.settled?.(call, outcome, by);
    if (outcome instanceof RpcError) call.reject(withCallSite(call.callSite, outcome));
    else call.resolve(outcome);
    return true;
  }

  /**
   * An item of a streamed call, numbered `sequence` by the server. A copy of one already taken
   * means the request was redelivered to another server, which started again from 0: false (the
   * copy dropped) for an idempotent call; a call that is not ends with CONNECTION_LOST rather than
   * mix two runs. An item out of order ends the call with BAD_REPLY.
   */
  item(call: PendingCall<Reply>, sequence: string | undefined, item: Reply): boolean {
    const number = wholeNumber(sequence);
    if (number < call.nextItem && call.request.idempotent) return false;
    if (number < call.nextItem) {
      const message = `the stream started again at item ${number} after ${call.nextItem}: its server was lost, and the call is not idempotent`;
      this.settle(call.correlationId, new RpcError('CONNECTION_LOST', message));
      return true;
    }
    if (number !== call.nextItem) {
      const shown = JSON.stringify(sequence ?? 'none');
      this.settle(call.correlationId, new RpcError('BAD_REPLY', `stream item ${shown} where ${call.nextItem} was due`));
      return true;
    }
    call.nextItem++;
    const refused = call.onItem?.(item);
    if (refused) this.settle(call.correlationId, refused);
    return true;
  }

  /**
   * The end of a streamed call, with the number of items its server sent (`sequence`; a server
   * older than that sends none, and its end is taken as it is). An end after fewer items than came
   * is another run's: dropped (false) while a copy sent on this connection may still end it (an
   * idempotent call); otherwise the run that sent the items is gone, and the call ends with
   * CONNECTION_LOST, as for a repeated item. An end after more is BAD_REPLY. Either way that run
   * is done: ended by the server, not given up on.
   */
  end(call: PendingCall<Reply>, sequence: string | undefined, end: Reply): boolean {
    const count = sequence === undefined ? call.nextItem : wholeNumber(sequence);
    if (count < call.nextItem && call.request.idempotent && call.delivery.resentHere) return false;
    if (count < call.nextItem) {
      const message = `the stream started again and ended after ${count} items, ${call.nextItem} had come: the run that sent them was lost (its server, or this connection)`;
      this.settle(call.correlationId, new RpcError('CONNECTION_LOST', message), 'server');
    } else if (count !== call.nextItem) {
      const message = `the stream ended after ${JSON.stringify(sequence)} items, ${call.nextItem} came`;
      this.settle(call.correlationId, new RpcError('BAD_REPLY', message), 'server');
    } else this.settle(call.correlationId, end);
    return true;
  }

  /**
   * The connection dropped: requests sent on it can no longer be answered (the reply queue died
   * with it). Idempotent ones go back to unsent, to go again after the reconnect; the others end
   * with CONNECTION_LOST. A call `refusal` has an error for (request-limit.ts: the broker closed
   * the connection on a request too large) ends with it, sent or not, and never goes out again.
   */
  connectionLost(reason: RpcError, refusal?: (call: PendingCall<Reply>) => RpcError | undefined): void {
    for (const call of [...this.#calls.values()]) {
      const refused = refusal?.(call);
      if (refused) this.settle(call.correlationId, refused);
      if (refused || !call.delivery.sent) continue;
      if (call.request.idempotent) {
        call.delivery.sent = false;
        call.delivery.dropped = true;
        continue;
      }
      const message = `the connection dropped before the reply: ${reason.message}`;
      this.settle(call.correlationId, new RpcError('CONNECTION_LOST', message, { cause: reason }));
    }
  }

  rejectAll(makeError: () => RpcError): void {
    for (const correlationId of [...this.#calls.keys()]) this.settle(correlationId, makeError());
  }
}

/** A whole number in decimal, or NaN: Number() would read "" as 0 and " 1", "0x1" or "1e0" as 1. */
function wholeNumber(text: string | undefined): number {
  return text !== undefined && /^(0|[1-9][0-9]*)$/.test(text) ? Number(text) : Number.NaN;
}

/** A request not sent yet. */
export function newDelivery(confirmWaitMs: number): Delivery {
  return {
    sent: false,
    queued: false,
    confirmed: false,
    sends: 0,
    resentHere: false,
    dropped: false,
    lastSentAt: 0,
    lastWrite: 0,
    handledAt: undefined,
    handledSince: undefined,
    unconfirmedSince: 0,
    confirmWaitMs,
  };
}

/** Gives an error the caller's stack: an asynchronous rejection then points at the call. */
export function withCallSite(callSite: Error, error: RpcError): RpcError {
  const frames = callSite.stack?.split('\n').slice(1).join('\n');
  if (frames) error.stack = `${error.name} [${error.code}]: ${error.message}\n${frames}`;
  return error;
}

/**
 * An abort reason that ends a call with its own error instead of ABORTED: a stream's reader refusing
 * an item (reply-stream.ts throw()). Internal, so a caller's own signal always means ABORTED.
 */
export class EndWith {
  constructor(readonly error: RpcError) {}
}

export function abortError(signal: AbortSignal): RpcError {
  if (signal.reason instanceof EndWith) return signal.reason.error;
  return new RpcError('ABORTED', 'the call was aborted', { cause: signal.reason });
}
