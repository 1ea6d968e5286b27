/*
 * Request/reply over one STOMP connection, for any service.
 *
 * Every request carries `reply-to: /temp-queue/stomp-rpc`: on the first such SEND of a connection
 * RabbitMQ creates a private reply queue and subscribes this connection to it, so all replies of
 * a client share one queue, and a reply is matched to its call by `correlation-id` (a Map of
 * pending calls). A reply nobody waits for any more (timed out, aborted, or a server answering
 * twice, as the tutorial warns) is dropped and counted.
 *
 * The reply queue dies with the connection. When the connection drops, requests already sent can
 * no longer be answered: idempotent ones go back to the unsent state and are sent again once
 * reconnected, the others reject with CONNECTION_LOST. Requests made while disconnected wait
 * for the connection. Every call has a deadline, so nothing waits forever.
 *
 * Presence (see presence.ts): the client follows the servers' announcements and, on every
 * connection, asks "who is there?". A call to a queue no live server consumes is not sent: it
 * fails at once with NO_SERVERS (or, with `whenNoServers: 'wait'`, goes out anyway and waits for a
 * server within its deadline). Right after connecting the client cannot know yet, so such calls
 * are held for `discoveryMs`, and go out the moment a server for their queue answers the ping.
 */
import type { IMessage } from '@stomp/stompjs';
import { checkMs, RpcError } from './errors.js';
import { LatencyHistogram, type LatencySnapshot } from './latency-histogram.js';
import { PING_TOPIC, PRESENCE_TOPIC, PresenceView, parseAnnouncement, type ServerInfo } from './presence.js';
import { type ErrorCode, Header, queueOfDestination } from './protocol.js';
import { randomHex } from './random.js';
import { type ConnectionState, StompConnection, type StompConnectionOptions } from './stomp-connection.js';
import { isTraceparent, newTraceparent } from './trace-context.js';

/** Where replies go; the broker turns it into this connection's private amq.gen-... queue. */
const REPLY_TO = '/temp-queue/stomp-rpc';
/** A discovery timer this late means the event loop was blocked; the window starts again. */
const LATE_TIMER_MS = 50;
/** How often servers that stopped beating are looked for. */
const EXPIRY_CHECK_MS = 1000;
/** Discovery windows after a connection, at most: a blocked event loop cannot hold calls forever. */
const MAX_DISCOVERY_WINDOWS = 4;

export interface RpcClientOptions extends StompConnectionOptions {
  /** Deadline of a call when it does not set its own. @default 10000 */
  timeoutMs?: number;
  /** Connection state changes: connecting, connected, reconnecting (with the reason), closed. */
  onStateChange?: (state: ConnectionState, reason?: RpcError) => void;
  /**
   * Follow the servers' presence announcements: `servers()`, `onServersChange` and NO_SERVERS.
   * Needs read access to the presence topic; without it, turn this off.
   * @default true
   */
  presence?: boolean;
  /**
   * A call to a queue with no live server: 'fail' rejects it with NO_SERVERS without sending it;
   * 'wait' sends it anyway, so a server that starts within the deadline answers it (servers that
   * do not announce themselves, like the tutorial's, need 'wait'). Ignored without `presence`.
   * @default 'fail'
   */
  whenNoServers?: 'fail' | 'wait';
  /** After each (re)connection, how long answers to the "who is there?" ping are awaited. @default 300 */
  discoveryMs?: number;
  /** The live servers changed: one joined, left, or sent new counters. */
  onServersChange?: (servers: ServerInfo[]) => void;
  /**
   * Ask the broker to confirm each request (a `receipt` header). A request the broker refuses (a
   * queue full under a `reject-publish` policy) gets no receipt, so its call ends with OVERLOADED
   * rather than TIMEOUT. Costs one RECEIPT frame per call.
   * @default true
   */
  confirmRequests?: boolean;
  /**
   * An idempotent request the broker has not confirmed after this long (longer when the broker's
   * confirmations are slow: the wait adapts to them as TCP's retransmission timeout adapts to round
   * trips) is sent again, then after twice as long, and so on within its deadline. Over Web-STOMP
   * a publish the broker drops gets neither RECEIPT nor ERROR (a full queue refuses it, say). When
   * the broker confirms nothing at all for 4 times this wait while requests wait, the connection
   * is dropped and made again (to the next URL): RabbitMQ 3.10 can leave a connection that first
   * published to a quorum queue while its leader was down unable to publish there ever again.
   * 0: never. Needs `confirmRequests`.
   * @default 1000
   */
  resendUnconfirmedMs?: number;
}

export interface RequestOptions {
  /** This call's deadline, from now. @default the client's `timeoutMs` */
  timeoutMs?: number;
  /** Aborting rejects the call at once with ABORTED and frees what it held. */
  signal?: AbortSignal;
  /** Extra STOMP headers for the request (e.g. queue declaration headers). */
  headers?: Readonly<Record<string, string>>;
  /**
   * The request may be sent twice without harm. If the connection drops before the reply, an
   * idempotent request is sent again after reconnecting (within its deadline); any other rejects
   * with CONNECTION_LOST.
   * @default false
   */
  idempotent?: boolean;
  /** W3C `traceparent` to send (e.g. the caller's current span). @default a new random one */
  traceparent?: string;
  /**
   * The queue the destination delivers to, for the presence check (NO_SERVERS).
   * @default the queue a `/queue/<name>` or `/amq/queue/<name>` destination names; none otherwise
   */
  queue?: string;
}

export interface RpcReply {
  body: string;
  headers: Readonly<Record<string, string>>;
  /** The id of the server that answered, when it says (see `servers()`). */
  server: string | undefined;
  /** The server's own time for the request in ms, from delivery to reply, when it says. */
  serverMs: number | undefined;
  /** From the call to its reply, in ms, as this client measured it. */
  latencyMs: number;
  /** The W3C trace context the request carried. */
  traceparent: string;
}

export interface RpcClientStats {
  /** Calls started. */
  calls: number;
  /** Calls that ended with a reply that was not an error. */
  succeeded: number;
  /** Calls that ended with an error, by code. */
  errors: Partial<Record<ErrorCode, number>>;
  /** Replies whose correlation-id matched no pending call (late, duplicate or foreign). */
  droppedReplies: number;
  /** Idempotent requests sent again: after a reconnect, or when the broker did not confirm them. */
  resent: number;
  reconnects: number;
  /** Calls waiting for a reply or for the connection right now. */
  pending: number;
  /** Time from call to reply, for calls that got one (including error replies). */
  latency: LatencySnapshot;
}

interface PendingCall {
  readonly destination: string;
  /** The queue the destination names, for the presence check. */
  readonly queue: string | undefined;
  readonly startedAt: number;
  readonly traceparent: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly idempotent: boolean;
  readonly deadline: number;
  /** Captured at the call site so that asynchronous errors point at the caller's code. */
  readonly callSite: Error;
  readonly resolve: (reply: RpcReply) => void;
  readonly reject: (error: RpcError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
  /** Whether the request is out on the current connection. */
  sent: boolean;
  /** Whether the broker confirmed (RECEIPT) the request's latest send. */
  confirmed: boolean;
  /** Times it was written to a connection. */
  sends: number;
  lastSentAt: number;
  /** When its first send on the current connection went out; it has been unconfirmed since. */
  unconfirmedSince: number;
  /** How long the latest send may go unconfirmed before an idempotent request goes again. */
  confirmWaitMs: number;
}

export class RpcClient {
  readonly #connection: StompConnection;
  readonly #defaultTimeoutMs: number;
  readonly #pendingCalls = new Map<string, PendingCall>();
  /** Correlation ids are this client's random id plus a counter: unique, and cheap per call. */
  readonly #idPrefix = `${randomHex(16)}.`;
  #nextId = 0;
  #closed = false;
  readonly #stats = { calls: 0, succeeded: 0, droppedReplies: 0, resent: 0 };
  readonly #errors: Partial<Record<ErrorCode, number>> = {};
  readonly #latency = new LatencyHistogram();
  readonly #presenceEnabled: boolean;
  readonly #failFast: boolean;
  readonly #discoveryMs: number;
  readonly #onServersChange: ((servers: ServerInfo[]) => void) | undefined;
  readonly #confirmRequests: boolean;
  readonly #resendUnconfirmedMs: number;
  /** Runs while calls are pending: re-sends idempotent requests the broker did not confirm. */
  #confirmSweep: ReturnType<typeof setInterval> | undefined;
  /** The last RECEIPT on the current connection, or when it was made. */
  #lastReceiptAt = 0;
  /** Smoothed time from a request's send to its RECEIPT and its variation (RFC 6298), in ms. */
  #receiptMs: { smoothed: number; variation: number } | undefined;
  readonly #presence = new PresenceView();
  /** Set while the answers to this connection's ping are awaited. */
  #discoveryTimer: ReturnType<typeof setTimeout> | undefined;
  #expiryTimer: ReturnType<typeof setInterval> | undefined;
  #lastExpiryCheck = 0;
  /** Ends the waits of discoverServers(): close() cuts them short, so no timer outlives it. */
  readonly #wakeOnClose = new Set<() => void>();

  constructor(options: RpcClientOptions = {}) {
    this.#defaultTimeoutMs = checkMs(options.timeoutMs ?? 10_000, 'timeoutMs');
    this.#discoveryMs = checkMs(options.discoveryMs ?? 300, 'discoveryMs', 0);
    const whenNoServers = options.whenNoServers ?? 'fail';
    if (whenNoServers !== 'fail' && whenNoServers !== 'wait') {
      throw new RpcError('INVALID_ARGUMENT', `whenNoServers must be 'fail' or 'wait', got ${String(whenNoServers)}`);
    }
    this.#presenceEnabled = options.presence ?? true;
    this.#failFast = this.#presenceEnabled && whenNoServers === 'fail';
    this.#onServersChange = options.onServersChange;
    this.#confirmRequests = options.confirmRequests ?? true;
    this.#resendUnconfirmedMs = this.#confirmRequests
      ? checkMs(options.resendUnconfirmedMs ?? 1000, 'resendUnconfirmedMs', 0)
      : 0;
    this.#connection = new StompConnection(options, {
      onConnected: () => {
        this.#lastReceiptAt = Date.now();
        this.#discover();
        this.#sendUnsent();
      },
      onDisconnected: (reason) => this.#handleDisconnected(reason),
      onConnectFailed: (reason) => {
        // A refused login will not fix itself within a call's deadline: fail the waiting calls now.
        if (reason.code === 'UNAUTHENTICATED') {
          this.#rejectAll(() => new RpcError('UNAUTHENTICATED', reason.message, { cause: reason }));
        }
      },
      onUnhandledMessage: (message) => this.#handleReply(message),
      onReceipt: (correlationId) => {
        this.#lastReceiptAt = Date.now();
        const call = this.#pendingCalls.get(correlationId);
        if (call === undefined) return;
        // Only a request sent once tells which send this RECEIPT belongs to (Karn's rule).
        if (!call.confirmed && call.sends === 1) this.#sampleReceiptTime(this.#lastReceiptAt - call.lastSentAt);
        call.confirmed = true;
      },
      ...(options.onStateChange ? { onStateChange: options.onStateChange } : {}),
    });
    this.#connection.start();
  }

  get state(): ConnectionState {
    return this.#connection.state;
  }

  /** The broker URL in use (or being tried). */
  get url(): string {
    return this.#connection.url;
  }

  get stats(): RpcClientStats {
    return {
      ...this.#stats,
      errors: { ...this.#errors },
      reconnects: this.#connection.reconnects,
      pending: this.#pendingCalls.size,
      latency: this.#latency.snapshot(),
    };
  }

  /** Live servers (of `queue`, or all), from their presence announcements. */
  servers(queue?: string): ServerInfo[] {
    return this.#presence.list(queue);
  }

  /**
   * Asks "who is there?" and resolves with the live servers after `waitMs`. Rejects like ready()
   * when the broker cannot be reached, with INVALID_ARGUMENT when presence is off, and with CLOSED
   * when the client is closed meanwhile.
   */
  async discoverServers(waitMs = this.#discoveryMs, queue?: string): Promise<ServerInfo[]> {
    checkMs(waitMs, 'waitMs', 0);
    if (!this.#presenceEnabled) throw new RpcError('INVALID_ARGUMENT', 'presence is turned off for this client');
    await this.ready();
    this.#ping();
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wakeOnClose.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, waitMs);
      this.#wakeOnClose.add(wake);
    });
    if (this.#closed) throw new RpcError('CLOSED', 'the client was closed');
    return this.servers(queue);
  }

  /**
   * Resolves once connected. Rejects with UNAVAILABLE when the broker cannot be reached within
   * `timeoutMs`, UNAUTHENTICATED when it refuses the login, CLOSED after close().
   */
  ready(timeoutMs = this.#defaultTimeoutMs): Promise<void> {
    return this.#connection.whenConnected(checkMs(timeoutMs, 'timeoutMs'));
  }

  /** Sends `body` to `destination` and resolves with the reply, or rejects with an RpcError. */
  request(destination: string, body: string, options: RequestOptions = {}): Promise<RpcReply> {
    const callSite = new Error();
    if (this.#closed) return Promise.reject(this.#failure(callSite, new RpcError('CLOSED', 'the client is closed')));
    const { signal } = options;
    if (signal?.aborted) {
      return Promise.reject(this.#failure(callSite, abortError(signal)));
    }
    let timeoutMs: number;
    try {
      timeoutMs = checkMs(options.timeoutMs ?? this.#defaultTimeoutMs, 'timeoutMs');
    } catch (error) {
      return Promise.reject(this.#failure(callSite, RpcError.from(error)));
    }
    const { traceparent = newTraceparent() } = options;
    if (!isTraceparent(traceparent)) {
      const shown = JSON.stringify(traceparent.slice(0, 60));
      return Promise.reject(this.#failure(callSite, new RpcError('INVALID_ARGUMENT', `not a traceparent: ${shown}`)));
    }

    this.#stats.calls++;
    const correlationId = this.#idPrefix + this.#nextId++;
    return new Promise<RpcReply>((resolve, reject) => {
      const onAbort = signal ? () => this.#settle(correlationId, abortError(signal)) : undefined;
      const now = Date.now();
      const call: PendingCall = {
        destination,
        queue: options.queue ?? queueOfDestination(destination),
        startedAt: now,
        traceparent,
        body,
        headers: options.headers ?? {},
        idempotent: options.idempotent ?? false,
        deadline: now + timeoutMs,
        callSite,
        resolve,
        reject,
        timer: setTimeout(() => this.#settle(correlationId, this.#timeoutError(call, timeoutMs)), timeoutMs),
        signal,
        onAbort,
        sent: false,
        confirmed: false,
        sends: 0,
        lastSentAt: 0,
        unconfirmedSince: 0,
        confirmWaitMs: this.#resendWaitMs(),
      };
      this.#pendingCalls.set(correlationId, call);
      if (signal && onAbort) signal.addEventListener('abort', onAbort, { once: true });
      this.#dispatch(correlationId, call);
    });
  }

  /** Rejects every pending call with CLOSED and closes the connection. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#discoveryTimer);
    clearInterval(this.#expiryTimer);
    clearInterval(this.#confirmSweep);
    for (const wake of this.#wakeOnClose) wake();
    this.#rejectAll(() => new RpcError('CLOSED', 'the client was closed'));
    await this.#connection.close();
  }

  /** Sends a call if it can go now; otherwise it waits for the connection or for discovery. */
  #dispatch(correlationId: string, call: PendingCall): void {
    if (!this.#connection.connected) return;
    if (this.#failFast && call.queue !== undefined && !this.#presence.hasServerFor(call.queue)) {
      if (this.#discoveryTimer !== undefined) return; // decided when a server answers or discovery ends
      this.#settle(correlationId, noServersError(call.queue));
      return;
    }
    this.#send(correlationId, call);
  }

  #send(correlationId: string, call: PendingCall): void {
    const remainingMs = Math.max(1, call.deadline - Date.now());
    const headers: Record<string, string> = {
      ...call.headers,
      [Header.replyTo]: REPLY_TO,
      [Header.correlationId]: correlationId,
      [Header.expiration]: String(Math.ceil(remainingMs)),
      [Header.traceparent]: call.traceparent,
    };
    if (this.#confirmRequests) headers[Header.receipt] = correlationId;
    try {
      this.#connection.publish({ destination: call.destination, body: call.body, headers });
      const now = Date.now();
      if (!call.sent || call.confirmed) call.unconfirmedSince = now;
      call.sent = true;
      call.confirmed = false;
      call.lastSentAt = now;
      if (++call.sends > 1) this.#stats.resent++;
      if (this.#resendUnconfirmedMs > 0 && this.#confirmSweep === undefined) {
        this.#confirmSweep = setInterval(() => this.#resendUnconfirmed(), Math.max(50, this.#resendUnconfirmedMs / 4));
      }
    } catch {
      // The socket went away between the state check and the write: the call stays unsent and
      // goes out after the reconnect, within its deadline.
    }
  }

  #sampleReceiptTime(ms: number): void {
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

  /** How long a new request may go unconfirmed before it is sent again: RFC 6298's timeout, at least resendUnconfirmedMs. */
  #resendWaitMs(): number {
    if (this.#receiptMs === undefined) return this.#resendUnconfirmedMs;
    const { smoothed, variation } = this.#receiptMs;
    return Math.max(this.#resendUnconfirmedMs, Math.ceil(smoothed + 4 * variation));
  }

  #resendUnconfirmed(): void {
    if (this.#pendingCalls.size === 0) {
      clearInterval(this.#confirmSweep);
      this.#confirmSweep = undefined;
      return;
    }
    if (!this.#connection.connected) return; // unsent calls go out after the reconnect anyway
    const now = Date.now();
    const stuckMs = 4 * this.#resendWaitMs();
    let stuck = false;
    for (const [correlationId, call] of this.#pendingCalls) {
      if (!call.sent || call.confirmed) continue;
      if (now - call.unconfirmedSince >= stuckMs && now - this.#lastReceiptAt >= stuckMs) stuck = true;
      if (!call.idempotent || now - call.lastSentAt < call.confirmWaitMs) continue;
      call.confirmWaitMs *= 2;
      this.#send(correlationId, call);
    }
    if (stuck) {
      const reason = `the broker confirmed no request for ${stuckMs} ms`;
      this.#connection.drop(new RpcError('CONNECTION_LOST', `${reason}; reconnecting`));
    }
  }

  #sendUnsent(): void {
    for (const [correlationId, call] of this.#pendingCalls) {
      if (!call.sent) this.#dispatch(correlationId, call);
    }
  }

  /** Subscribes to announcements and pings the servers; called on every (re)connection. */
  #discover(): void {
    if (!this.#presenceEnabled) return;
    this.#presence.resume(Date.now());
    try {
      this.#connection.subscribe(PRESENCE_TOPIC, (message) => this.#handleAnnouncement(message.body), {});
    } catch {
      return; // the connection dropped meanwhile; the next one discovers again
    }
    this.#ping();
    clearTimeout(this.#discoveryTimer);
    this.#awaitAnswers(this.#discoveryMs, MAX_DISCOVERY_WINDOWS);
  }

  /** Asks every live server to announce itself to this client at once. */
  #ping(): void {
    try {
      this.#connection.publish({ destination: PING_TOPIC, body: '', headers: { [Header.replyTo]: REPLY_TO } });
    } catch {
      // disconnected: the next connection pings again
    }
  }

  /**
   * Ends discovery after `windowMs` in which this client could actually listen. A timer that
   * fires late means the event loop was blocked (a page still loading, a burst of calls being
   * made) and the answers may still be unread, or, for a server in the same process, unsent; the
   * window then starts again, a bounded number of times.
   */
  #awaitAnswers(windowMs: number, windowsLeft: number): void {
    const due = Date.now() + windowMs;
    this.#discoveryTimer = setTimeout(() => {
      if (windowsLeft > 1 && Date.now() - due > LATE_TIMER_MS) {
        this.#awaitAnswers(windowMs, windowsLeft - 1);
        return;
      }
      this.#discoveryTimer = undefined;
      this.#sendUnsent(); // what is still held now fails with NO_SERVERS
    }, windowMs);
  }

  #handleAnnouncement(body: string): void {
    const announcement = parseAnnouncement(body);
    if (announcement === undefined) return;
    const change = this.#presence.apply(announcement, Date.now());
    if (change === 'joined') {
      if (this.#expiryTimer === undefined) {
        this.#lastExpiryCheck = Date.now();
        this.#expiryTimer = setInterval(() => this.#expireServers(), EXPIRY_CHECK_MS);
      }
      this.#sendUnsent(); // calls held for this queue can go
    }
    this.#onServersChange?.(this.#presence.list());
  }

  #expireServers(): void {
    const now = Date.now();
    const sinceLastCheck = now - this.#lastExpiryCheck;
    this.#lastExpiryCheck = now;
    if (!this.#connection.connected) return; // beats cannot arrive now; resume() on reconnect
    // A check this late means this client's event loop was stalled (or the machine slept): it
    // did not listen, so the servers' silence meanwhile proves nothing.
    if (sinceLastCheck > 2 * EXPIRY_CHECK_MS) this.#presence.resume(now);
    if (this.#presence.expire(now) > 0) this.#onServersChange?.(this.#presence.list());
    if (this.#presence.size === 0) {
      clearInterval(this.#expiryTimer);
      this.#expiryTimer = undefined;
    }
  }

  #handleDisconnected(reason: RpcError): void {
    for (const [correlationId, call] of this.#pendingCalls) {
      if (!call.sent) continue;
      if (call.idempotent) {
        call.sent = false;
      } else {
        this.#settle(
          correlationId,
          new RpcError('CONNECTION_LOST', `the connection dropped before the reply: ${reason.message}`, {
            cause: reason,
          }),
        );
      }
    }
  }

  #handleReply(message: IMessage): void {
    if (message.headers[Header.presence] !== undefined) {
      this.#handleAnnouncement(message.body);
      return;
    }
    const correlationId = message.headers[Header.correlationId];
    const call = correlationId === undefined ? undefined : this.#pendingCalls.get(correlationId);
    if (correlationId === undefined || call === undefined) {
      this.#stats.droppedReplies++;
      return;
    }
    const latencyMs = Date.now() - call.startedAt;
    this.#latency.record(latencyMs);
    const { headers } = message;
    const errorCode = headers[Header.errorCode];
    if (errorCode !== undefined) {
      this.#settle(correlationId, RpcError.fromReply(errorCode, message.body));
      return;
    }
    const serverMs = Number(headers[Header.serverTimeMs] ?? Number.NaN);
    this.#settle(correlationId, {
      body: message.body,
      headers,
      server: headers[Header.server],
      serverMs: Number.isFinite(serverMs) ? serverMs : undefined,
      latencyMs,
      traceparent: call.traceparent,
    });
  }

  /** Ends a call exactly once, releasing its timer, abort listener and map entry. */
  #settle(correlationId: string, outcome: RpcReply | RpcError): void {
    const call = this.#pendingCalls.get(correlationId);
    if (call === undefined) return;
    this.#pendingCalls.delete(correlationId);
    clearTimeout(call.timer);
    if (call.signal && call.onAbort) call.signal.removeEventListener('abort', call.onAbort);
    if (outcome instanceof RpcError) {
      call.reject(this.#failure(call.callSite, outcome));
    } else {
      this.#stats.succeeded++;
      call.resolve(outcome);
    }
  }

  #rejectAll(makeError: () => RpcError): void {
    for (const correlationId of [...this.#pendingCalls.keys()]) this.#settle(correlationId, makeError());
  }

  /** Counts the error and gives it the caller's stack. */
  #failure(callSite: Error, error: RpcError): RpcError {
    this.#errors[error.code] = (this.#errors[error.code] ?? 0) + 1;
    const frames = callSite.stack?.split('\n').slice(1).join('\n');
    if (frames) error.stack = `${error.name} [${error.code}]: ${error.message}\n${frames}`;
    return error;
  }

  /**
   * TIMEOUT, with the connection's trouble as the cause when that is why no reply came; OVERLOADED
   * when the broker never confirmed the request on a connection that stayed up.
   */
  #timeoutError(call: PendingCall, timeoutMs: number): RpcError {
    if (this.#confirmRequests && call.sent && !call.confirmed && this.#connection.connected) {
      return new RpcError(
        'OVERLOADED',
        `the broker did not accept the request to ${call.destination} within ${timeoutMs} ms: the queue is full or the broker too busy`,
      );
    }
    const trouble = this.#connection.lastError;
    if (this.#connection.connected && (call.sends <= 1 || trouble === undefined)) {
      return new RpcError('TIMEOUT', `no reply from ${call.destination} within ${timeoutMs} ms`);
    }
    const why = this.#connection.connected ? 'the connection dropped while it waited' : 'not connected to the broker';
    const detail = trouble ? `: ${trouble.message}` : '';
    return new RpcError('TIMEOUT', `no reply within ${timeoutMs} ms; ${why}${detail}`, { cause: trouble });
  }
}

function noServersError(queue: string): RpcError {
  return new RpcError(
    'NO_SERVERS',
    `no live server consumes ${queue} (none announced itself on ${PRESENCE_TOPIC}); the request was not sent`,
  );
}

function abortError(signal: AbortSignal): RpcError {
  return new RpcError('ABORTED', 'the call was aborted', { cause: signal.reason });
}
