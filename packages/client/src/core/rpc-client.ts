/*
 * Request/reply over one STOMP connection, for any service: the facade that joins the parts.
 *
 * - pending-calls.ts: the calls waiting for a reply, each ending exactly once;
 * - request-batches.ts: a turn's requests go out together, with one RECEIPT for the batch;
 * - request-confirmation.ts: RECEIPTs, re-sending unconfirmed idempotent requests, stuck connections;
 * - request-limit.ts: requests too large for the broker, refused before they are sent; its limit learned from a close;
 * - server-discovery.ts: which servers are live, so whether a call is sent, held or fails;
 * - transport/stomp-connection.ts: the connection that keeps itself up.
 *
 * Every request carries the same `reply-to` (protocol/wire.ts REPLY_TO): the broker gives the
 * connection one private reply queue, and a reply is matched to its call by `correlation-id`. A
 * reply nobody waits for any more (timed out, aborted, a server answering twice) is dropped and
 * counted. When the connection drops, requests already sent can no longer be answered: idempotent
 * ones go back to unsent and are sent again once reconnected, the others reject with
 * CONNECTION_LOST. Requests made while disconnected wait for the connection. Every call has a
 * deadline, so nothing waits forever. docs/protocol.md has the whole exchange.
 */
import { CLIENT_DEFAULTS } from '../defaults.js';
import { RpcError } from '../errors.js';
import { checkCount, checkMs, checkName, checkSignal } from '../options.js';
import type { ErrorCode } from '../protocol/error-codes.js';
import { PRESENCE_TOPIC, type ServerInfo } from '../protocol/presence.js';
import {
  badRequestHeaders,
  Header,
  isStompDestination,
  parseServedBy,
  queueDeclarationHeaders,
  queueOfDestination,
  REPLY_TO,
  requestHeaders,
  StreamMark,
  signalDestinations,
} from '../protocol/wire.js';
import { randomHex } from '../random.js';
import { isTraceparent, newTraceparent } from '../trace-context.js';
import { standingRefusal } from '../transport/end-reason.js';
import { StompConnection, type StompConnectionOptions } from '../transport/stomp-connection.js';
import { ClientStats, type RpcClientStats } from './client-stats.js';
import { type Clock, Sleeps, systemClock } from './clock.js';
import {
  abortError,
  type EndedBy,
  type OutgoingRequest,
  type PendingCall,
  PendingCalls,
  withCallSite,
} from './pending-calls.js';
import { type ItemPush, ReplyStream, type StreamLimits } from './reply-stream.js';
import { RequestBatches } from './request-batches.js';
import { deadlineError, RequestConfirmation, refusedError } from './request-confirmation.js';
import { RequestLimit } from './request-limit.js';
import { PROBE_AFTER_MS, ServerDiscovery } from './server-discovery.js';
import type { ConnectionState, IncomingMessage, Transport, TransportEvents } from './transport.js';

export type { RpcClientStats } from './client-stats.js';

export interface RpcClientOptions extends StompConnectionOptions {
  /** Deadline of a call when it does not set its own. @default 10000 */
  timeoutMs?: number | undefined;
  /**
   * Connection state changes: connecting, connected (once set up: a call made here fares as one made
   * after ready()), reconnecting (with the reason), closed.
   */
  onStateChange?: ((state: ConnectionState, reason?: RpcError) => void) | undefined;
  /**
   * Publish this client's pings and cancels through this exchange, with the routing keys `rpc.ping`
   * and `rpc.cancel`, instead of to those topics of `amq.topic`; the exchange must route them on to
   * `amq.topic`, where servers listen (definitions.json binds `rpc` so). Pages logging in as the
   * browser user set `'rpc'`: that user may write to no other exchange. It is also the exchange of
   * the services called through this client (FibonacciRpcClient, ServiceClient; another is INVALID_ARGUMENT).
   * @default undefined (amq.topic)
   */
  exchange?: string | undefined;
  /**
   * Follow the servers' presence announcements: `servers()`, `onServersChange` and NO_SERVERS.
   * Needs write access to the ping topic (`rpc.ping`, or `exchange`: a call unanswered for a second
   * asks who is there), and a watching client read access to the presence topic; without them,
   * turn this off.
   * @default true
   */
  presence?: boolean | undefined;
  /**
   * Tell the servers when a call is given up on (aborted, timed out, a stream left early, the
   * client closed), so that its handler stops; and when a call sent twice on the connection ends, so that the
   * other copy stops. Needs write access to the cancel topic (`rpc.cancel` on
   * `amq.topic`, or `exchange`): RabbitMQ closes a connection whose publish it refuses, so without that access,
   * turn this off; calls given up on then run on at the server to their end or deadline (for a
   * call that timed out, a deadline counted from the request's delivery, after its wait in the queue).
   * @default true
   */
  cancels?: boolean | undefined;
  /**
   * A call to a queue no server has announced itself for. Presence tells who is known, not who
   * exists: a server that never announces itself (the tutorial's, RxStompRPC-style servers, other
   * languages) is real. 'wait' sends the call anyway, so such a server, or one that starts within
   * the deadline, answers it; when nothing at all answers the queue during the call, it ends with
   * NO_SERVERS at its deadline instead of TIMEOUT. 'fail' rejects it with NO_SERVERS at once,
   * without sending it: for deployments whose every server announces itself. Ignored without
   * `presence`.
   * @default 'wait'
   */
  whenNoServers?: 'fail' | 'wait' | undefined;
  /**
   * For a watching client, how long after each (re)connection the answers to its "who is there?"
   * ping are awaited (with `whenNoServers: 'fail'`, how long calls are held for them; longer while
   * the broker has not confirmed the ping, up to ten times as long); for any client, the default
   * wait of `discoverServers()`. @default 300
   */
  discoveryMs?: number | undefined;
  /**
   * Keep a live list of servers: listen to every server's announcements, which costs the broker one
   * delivery per server beat for this client. Off, an idle client costs nothing: the client asks
   * "who is there?" only when a call has had no reply from its queue for a second (or half its
   * deadline), and `servers()` holds what it heard then. On when `onServersChange` is given (unless
   * this is set to false) and whenever `whenNoServers` is 'fail'.
   * @default false
   */
  watchServers?: boolean | undefined;
  /**
   * The live servers changed: one joined, left, or sent new counters. Turns `watchServers` on unless
   * that is set to false (then it reports only what answers to pings bring). An exception it throws
   * is ignored, as one from `onStateChange` is.
   */
  onServersChange?: ((servers: ServerInfo[]) => void) | undefined;
  /**
   * Ask the broker to confirm requests (a `receipt` header on the last request of each batch, and
   * on every request that is not idempotent). A request the broker refuses (a queue full under a
   * `reject-publish` policy) gets no receipt, so its call ends with OVERLOADED rather than TIMEOUT.
   * Costs one RECEIPT frame per batch, and one per request that is not idempotent.
   * @default true
   */
  confirmRequests?: boolean | undefined;
  /**
   * An idempotent request the broker has not confirmed after this long (longer when the broker's
   * confirmations are slow: the wait adapts to them as TCP's retransmission timeout adapts to round
   * trips) is sent again, then after twice as long, and so on within its deadline, but only once
   * the broker is known to have handled it (a RECEIPT for a later frame, or for a probe the client
   * then sends): over Web-STOMP a publish the broker drops gets neither RECEIPT nor ERROR (a full
   * queue refuses it, say), while a busy broker has simply not got to it yet, and re-sending would
   * add to its backlog. When requests wait unconfirmed and no reply comes for 4 times this wait,
   * the connection is dropped and made again (to the next URL): RabbitMQ 3.10 leaves a connection
   * that first publishes to a quorum queue during its leader election unable to publish there
   * until the dead leader's node is back (request-confirmation.ts). A client that has never had a RECEIPT cannot tell such a connection from a
   * busy broker, and waits 30 s for requests the broker has not reached before it does so.
   * 0: never. Needs `confirmRequests`.
   * @default 1000
   */
  resendUnconfirmedMs?: number | undefined;
  /**
   * Give every call a fresh W3C `traceparent` when its caller passes none, so each failed request
   * can be found in the server's log. Off by default: the header rides on the request and on the
   * message the broker delivers, and each header costs the broker (BENCHMARKS.md).
   * @default false
   */
  traceCalls?: boolean | undefined;
  /**
   * The largest request, in bytes of UTF-8 of its destination, body and the caller's headers as
   * the frame carries them; a larger one is INVALID_ARGUMENT, unsent. The broker closes a
   * connection that sends a frame over its limit (WebSocket close 1009), and every call out on it
   * with it. Raise it only with the broker's frame limit: the request that closes a connection so
   * then fails with INVALID_ARGUMENT and requests as large are refused, but the calls out with it
   * are sent again or fail with CONNECTION_LOST (and a close seen as 1006, the socket dropped while
   * the frame still streamed in, teaches nothing: an idempotent request goes out again).
   * @default 253952 (248 KiB: under rabbitmq-conf's 256 KiB frame limit, with room for the client's headers)
   */
  maxRequestBytes?: number | undefined;
}

export interface RequestOptions {
  /** This call's deadline, from now. @default the client's `timeoutMs` */
  timeoutMs?: number | undefined;
  /** Aborting rejects the call at once with ABORTED and frees what it held. */
  signal?: AbortSignal | undefined;
  /** Extra STOMP headers for the request. */
  headers?: Readonly<Record<string, string>> | undefined;
  /**
   * Queue declaration headers (protocol `queueDeclarationHeaders`), sent with the first request to
   * the destination on each connection only: RabbitMQ declares a `/queue/` destination once per
   * connection and copies every header of every request into the message it delivers.
   * `{}`: none, RabbitMQ's own (a durable queue).
   * @default for a `/queue/` destination, the servers' default declaration (`queueDeclarationHeaders()`): RabbitMQ's own would close the connection on a queue they declared
   */
  declare?: Readonly<Record<string, string>> | undefined;
  /**
   * The request may be sent twice without harm. If the connection drops before the reply, an
   * idempotent request is sent again after reconnecting (within its deadline); any other rejects
   * with CONNECTION_LOST.
   * @default false
   */
  idempotent?: boolean | undefined;
  /**
   * W3C `traceparent` to send (e.g. the caller's current span).
   * @default none, or a fresh one per call when the client's `traceCalls` is on
   */
  traceparent?: string | undefined;
  /**
   * The queue the destination delivers to, for the presence check (NO_SERVERS).
   * @default the queue a `/queue/<name>` or `/amq/queue/<name>` destination names; none otherwise
   */
  queue?: string | undefined;
}

/** A streamed call's options: the call's, and its bounds (the deadline bounds its time). */
export interface StreamOptions extends RequestOptions, StreamLimits {}

export interface RpcReply {
  body: string;
  headers: Readonly<Record<string, string>>;
  /** The id of the server that answered, when it says (see `servers()`). */
  server: string | undefined;
  /** The server's own time for the request in ms, from delivery to reply, when it says. */
  serverMs: number | undefined;
  /** From the call to its reply, in ms, as this client measured it. */
  latencyMs: number;
  /** The W3C trace context the request carried, if any. */
  traceparent: string | undefined;
}

/**
 * For unit tests: the clock and connection a client uses instead of the real ones. Left out of the
 * published types (stripInternal), so that it is no part of the API.
 * @internal
 */
export interface RpcClientInternals {
  clock?: Clock;
  transport?: (events: TransportEvents) => Transport;
  /** Runs the send of a batch of requests; by default at the end of the current turn (a microtask). */
  defer?: (send: () => void) => void;
  /** A number in [0, 1), for the jitter of pings; by default Math.random. */
  random?: () => number;
}

type Call = PendingCall<RpcReply>;

/**
 * The ends of a call its servers are not told about (unless the caller ended it): NO_SERVERS,
 * since nothing is known to consume its queue, and OVERLOADED, since the broker refused the
 * request or is too far behind to confirm it, and a cancel per call would add to that (a request
 * it takes late then runs at a server up to its whole `expiration`). Not TIMEOUT: a request that
 * waited in the queue reaches its server with its whole `expiration` still to run (the broker
 * does not count the wait down), so the server would work on for that long after its caller left.
 */
const NO_CANCEL_NEEDED: ReadonlySet<ErrorCode> = new Set(['OVERLOADED', 'NO_SERVERS']);

export class RpcClient {
  /** The `exchange` option: where pings and cancels go, and the exchange of the services called through this client. */
  readonly exchange: string | undefined;
  readonly #connection: Transport;
  readonly #clock: Clock;
  readonly #defaultTimeoutMs: number;
  readonly #discoveryMs: number;
  readonly #confirmRequests: boolean;
  readonly #requestChecks: RequestChecks;
  readonly #calls: PendingCalls<RpcReply>;
  readonly #confirmation: RequestConfirmation<Call>;
  readonly #discovery: ServerDiscovery;
  readonly #stats = ClientStats.of(this);
  /** Correlation ids: this client's short random id (for servers' logs and cancels) and a counter; short, as the broker parses every header. */
  readonly #idPrefix = `${randomHex(4)}.`;
  #nextId = 0;
  readonly #batches: RequestBatches<Call>;
  /** Destinations whose queue this connection has declared already. */
  readonly #declared = new Set<string>();
  #closed = false;
  /** The waits of discoverServers(), which close() cuts short. */
  readonly #sleeps: Sleeps;

  constructor(options?: RpcClientOptions);
  /** @internal */ constructor(options: RpcClientOptions | undefined, internals: RpcClientInternals);
  constructor(options: RpcClientOptions = {}, internals: RpcClientInternals = {}) {
    this.#clock = internals.clock ?? systemClock;
    this.#sleeps = new Sleeps(this.#clock);
    const settings = checkClientOptions(options);
    this.exchange = settings.exchange;
    this.#defaultTimeoutMs = settings.timeoutMs;
    this.#discoveryMs = settings.discoveryMs;
    this.#confirmRequests = settings.confirmRequests;
    this.#requestChecks = settings.requestChecks;
    this.#calls = new PendingCalls<RpcReply>(this.#clock, {
      timeoutError: (call) => this.#deadlineError(call),
      settled: (call, outcome, by) => {
        this.#stats.ended(outcome);
        if (outcome instanceof RpcError) this.#discovery.ended(call.correlationId, call.request.queue);
        if (settings.cancels) cancelIfGivenUp(this.#connection, settings.signals.cancel, call, outcome, by);
        if (this.#calls.size === 0) this.#discovery.idle();
      },
    });
    this.#batches = new RequestBatches<Call>(
      settings.confirmRequests,
      // Not queueMicrotask itself: browsers refuse it when called as a method of another object.
      internals.defer ?? ((send) => queueMicrotask(send)),
      {
        pending: (call) => this.#calls.get(call.correlationId) === call,
        write: (call, receiptId) => this.#publish(call, receiptId),
      },
    );
    this.#confirmation = new RequestConfirmation<Call>(this.#clock, settings.resendUnconfirmedMs, {
      pending: () => this.#calls.values(),
      connected: () => this.#connection.connected,
      resend: (call) => this.#batches.add(call),
      probe: (receiptId) => probe(this.#connection, receiptId),
      stuck: (why) => this.#connection.drop(new RpcError('CONNECTION_LOST', `${why}; reconnecting`)),
      refused: (call) => this.#calls.settle(call.correlationId, refusedError(call.request.destination)),
    });
    this.#discovery = new ServerDiscovery(
      { ...settings.discovery, onServersChange: options.onServersChange, random: internals.random },
      this.#clock,
      {
        listen: (onAnnouncement) => listenToPresence(this.#connection, onAnnouncement),
        ping: (receiptId) => ping(this.#connection, settings.signals.ping, receiptId),
        connected: () => this.#connection.connected,
        lastError: () => this.#connection.lastError,
        decide: () => this.#sendUnsent(),
        unanswered: (now) =>
          Array.from(this.#calls.values()).some((c) => worthAPing(c, now, this.#confirmRequests) && this.#unheard(c)),
        waiting: () => this.#calls.size > 0,
      },
    );
    const events: TransportEvents = {
      onConnected: () => this.#handleConnected(),
      onDisconnected: (reason) => this.#calls.connectionLost(reason, this.#requestChecks.limit.connectionLost(reason)),
      onConnectFailed: (reason) => this.#handleConnectFailed(reason),
      onUnhandledMessage: (message) => this.#handleReply(message),
      onReceipt: (receiptId) => this.#handleReceipt(receiptId),
      ...(options.onStateChange ? { onStateChange: options.onStateChange } : {}),
    };
    this.#connection = internals.transport?.(events) ?? new StompConnection(options, events);
    this.#connection.start();
  }

  get state(): ConnectionState {
    return this.#connection.state;
  }

  /** The broker URL in use (or being tried), without a user and password it may carry. */
  get url(): string {
    return this.#connection.url;
  }

  get stats(): RpcClientStats {
    return this.#stats.snapshot(this.#calls.size, this.#connection.reconnects);
  }

  /** Live servers (of `queue`, or all), from their presence announcements. */
  servers(queue?: string): ServerInfo[] {
    return this.#discovery.servers(queue);
  }

  /**
   * Asks "who is there?" and resolves with the live servers after `waitMs` (not watching: those heard
   * then), or once the answers are due if the broker confirms the question later (at most ten
   * times `waitMs`). Rejects like ready() when the broker cannot be reached, with INVALID_ARGUMENT when
   * presence is off, with CLOSED when the client is closed meanwhile, and with CONNECTION_LOST when
   * the connection dropped meanwhile (as RabbitMQ drops a user who may not publish the ping).
   */
  async discoverServers(waitMs = this.#discoveryMs, queue?: string): Promise<ServerInfo[]> {
    checkMs(waitMs, 'waitMs', 0);
    if (!this.#discovery.enabled) throw new RpcError('INVALID_ARGUMENT', 'presence is turned off for this client');
    await this.ready();
    const askedAt = await this.#discovery.ask(waitMs, (ms) => this.#sleeps.sleep(ms));
    return this.#discovery.servers(queue, askedAt);
  }

  /**
   * Resolves once connected. Rejects with UNAVAILABLE when the broker cannot be reached within
   * `timeoutMs`, UNAUTHENTICATED when it refuses the login, INVALID_ARGUMENT when the browser
   * refuses to open every URL (ws:// from an https page), CLOSED after close().
   */
  async ready(timeoutMs = this.#defaultTimeoutMs): Promise<void> {
    return this.#connection.whenConnected(checkMs(timeoutMs, 'timeoutMs')); // a bad timeoutMs rejects too
  }

  /** Sends `body` to `destination` and resolves with the reply, or rejects with an RpcError. */
  request(destination: string, body: string, options: RequestOptions = {}): Promise<RpcReply> {
    return this.#call(destination, body, options ?? {}, undefined); // null too, from JavaScript
  }

  /**
   * Sends `body` to `destination` and yields the items of the streamed reply (a server's
   * `rpc-stream: item` replies) until its end; throws an RpcError as `request()` rejects. Bounded by
   * the call's deadline and by `maxItems` and `maxBytes` (LIMIT_EXCEEDED). Leaving the loop early
   * aborts the call, and the server stops producing.
   */
  stream(destination: string, body: string, options: StreamOptions = {}): AsyncIterableIterator<RpcReply> {
    const start = (signal: AbortSignal, push: ItemPush) => this.#call(destination, body, { ...options, signal }, push);
    return ReplyStream.open(options ?? {}, start, this.#stats);
  }

  #call(destination: string, body: string, options: RequestOptions, onItem: ItemPush | undefined): Promise<RpcReply> {
    const callSite = new Error();
    let timeoutMs: number;
    let request: OutgoingRequest;
    try {
      timeoutMs = this.#checkRequest(options);
      request = outgoingRequest(destination, body, options, this.#requestChecks);
      if (this.#connection.refusal) throw this.#connection.refusal; // as #handleConnectFailed says
    } catch (error) {
      const failure = RpcError.from(error);
      this.#stats.failed(failure.code);
      return Promise.reject(withCallSite(callSite, failure));
    }
    this.#stats.called();
    const correlationId = this.#idPrefix + (this.#nextId++).toString(36);
    const { call, settled } = this.#calls.add(correlationId, request, {
      timeoutMs,
      signal: options.signal,
      callSite,
      confirmWaitMs: this.#confirmation.resendWaitMs(),
      onItem,
    });
    this.#dispatch(call);
    return settled;
  }

  /** Rejects every pending call with CLOSED and closes the connection; every call settles once it has closed. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#discovery.close();
      this.#confirmation.stop();
      this.#sleeps.wakeAll();
      this.#calls.rejectAll(() => new RpcError('CLOSED', 'the client was closed'));
    }
    return this.#connection.close(); // the same promise for every caller, settled when it has closed
  }

  /** The request's deadline, or an error when the call cannot start. */
  #checkRequest(options: RequestOptions): number {
    if (this.#closed) throw new RpcError('CLOSED', 'the client is closed');
    const signal = checkSignal(options.signal);
    if (signal?.aborted) throw abortError(signal);
    return checkMs(options.timeoutMs ?? this.#defaultTimeoutMs, 'timeoutMs');
  }

  /** Sends a call (at the end of this turn) if it can go now; otherwise it waits for the connection or for discovery. */
  #dispatch(call: Call): void {
    if (!this.#connection.connected) return;
    const verdict = this.#discovery.verdict(call.request.queue);
    if (verdict === 'send') {
      this.#batches.add(call);
      this.#discovery.sent(probeAfterMs(call));
    } else if (verdict === 'fail') this.#calls.settle(call.correlationId, noServersError(call));
  }

  /**
   * The error of a call whose deadline passed (deadlineError); `unanswered`: nothing is known to
   * consume its queue. One held for discovery ends as the window's end would end it (NO_SERVERS),
   * unless a server had begun its stream: that ran out of time with its items counted.
   */
  #deadlineError(call: Call): RpcError {
    const { connected, lastError: trouble } = this.#connection;
    const { queue } = call.request;
    if (connected && !call.delivery.sent && call.nextItem === 0 && this.#discovery.verdict(queue) === 'hold')
      return noServersError(call);
    const unanswered = this.#discovery.askedInVain(call.startedAt, queue) && this.#unheard(call);
    const timing = { now: this.#clock.now(), confirmWaitMs: this.#confirmation.resendWaitMs() };
    return deadlineError(call, { confirmRequests: this.#confirmRequests, connected, trouble, unanswered, ...timing });
  }

  /** Nothing is known to consume the queue of a call that went out: see ServerDiscovery.unheard. */
  #unheard({ request: { queue }, delivery, startedAt }: Call): boolean {
    return queue !== undefined && delivery.sends > 0 && this.#discovery.unheard(queue, startedAt);
  }

  /** Writes one request; false when the socket went away (the call stays unsent for the reconnect). */
  #publish(call: Call, receiptId: string | undefined): boolean {
    const { request } = call;
    const declare = request.declare !== undefined && !this.#declared.has(request.destination);
    const remainingMs = call.deadline - this.#clock.now();
    const headers = requestHeaders(request, call.correlationId, remainingMs, { declare, receiptId });
    try {
      this.#connection.publish({ destination: request.destination, body: request.body, headers });
    } catch {
      return false;
    }
    if (declare) this.#declared.add(request.destination);
    this.#requestChecks.limit.sent(call, headers);
    if (this.#confirmation.sent(call.delivery)) this.#stats.resent();
    return true;
  }

  #handleReceipt(receiptId: string): void {
    // Probes' and pings' RECEIPTs are not progress of requests: they go nowhere or to other queues.
    if (this.#confirmation.isProbe(receiptId)) this.#confirmation.probeReceipt(receiptId);
    else if (this.#discovery.isPing(receiptId)) this.#discovery.pingReceipt(receiptId);
    else {
      // A RECEIPT for a batch no longer known still shows that the connection works.
      for (const sent of this.#batches.confirmed(receiptId) ?? [undefined]) {
        const pending = sent && this.#calls.get(sent.correlationId)?.delivery === sent.delivery;
        this.#confirmation.receipt(pending ? sent.delivery : undefined);
      }
    }
  }

  #sendUnsent(): void {
    for (const call of this.#calls.values()) {
      if (!call.delivery.sent && !call.delivery.queued) this.#dispatch(call);
    }
  }

  #handleConnected(): void {
    this.#declared.clear();
    this.#batches.reset(); // RECEIPTs of the last connection will not come
    this.#confirmation.connected();
    this.#discovery.connected();
    this.#sendUnsent();
  }

  /** A final refusal (a login, or a URL the browser will not open) will not fix itself: the calls waiting fail now. */
  #handleConnectFailed(reason: RpcError): void {
    if (standingRefusal(reason)) this.#calls.rejectAll(() => standingRefusal(reason) as RpcError);
  }

  #handleReply(message: IncomingMessage): void {
    const { headers } = message;
    if (headers[Header.presence] !== undefined) {
      this.#discovery.heard(message.body);
      return;
    }
    const correlationId = headers[Header.correlationId];
    const call = correlationId === undefined ? undefined : this.#calls.get(correlationId);
    const served = parseServedBy(headers[Header.server]);
    if (call === undefined) {
      this.#stats.droppedReply();
      this.#discovery.lateReply(correlationId, served.server);
      return;
    }
    const latencyMs = this.#clock.now() - call.startedAt;
    this.#confirmation.replied(call.delivery);
    this.#discovery.replied(served.server, call.request.queue);
    const outcome = replyOutcome(message, served, latencyMs, call);
    if (outcome instanceof RpcError || headers[Header.stream] === undefined) {
      this.#stats.replied(latencyMs);
      this.#calls.settle(call.correlationId, outcome);
      return;
    }
    // A stream's item or end (replyOutcome refused any other mark).
    const sequence = headers[Header.sequence];
    if (headers[Header.stream] === StreamMark.item) {
      if (!this.#calls.item(call, sequence, outcome)) this.#stats.droppedReply();
    } else if (this.#calls.end(call, sequence, outcome)) this.#stats.replied(latencyMs);
    else this.#stats.droppedReply();
  }
}

function listenToPresence(connection: Transport, onAnnouncement: (body: string) => void): boolean {
  try {
    connection.subscribe(PRESENCE_TOPIC, (message) => onAnnouncement(message.body), {});
    return true;
  } catch {
    return false; // dropped meanwhile; the next connection listens again
  }
}

/**
 * A call unanswered for its probe delay whose request the broker confirmed (or confirms none):
 * only then can a ping tell whether a server is there. One sent before would wait behind the
 * request, as the broker handles a connection's frames in order, and in a storm add a ping and
 * every server's answer to the backlog. (Whether its queue was heard from: RpcClient.#unheard.)
 */
function worthAPing(call: Call, now: number, confirmRequests: boolean): boolean {
  return call.startedAt <= now - probeAfterMs(call) && (call.delivery.confirmed || !confirmRequests);
}

/** How long a call waits for a reply before its client asks who is there: in time to hear the answer. */
function probeAfterMs(call: Call): number {
  return Math.min(PROBE_AFTER_MS, call.timeoutMs / 2);
}

/** Asks the broker whether it has handled what was sent so far (request-confirmation.ts). */
function probe(connection: Transport, receiptId: string): boolean {
  try {
    connection.probe(receiptId);
    return true;
  } catch {
    return false; // the connection went away; the next one starts afresh
  }
}

/** What goes on the wire for a call; INVALID_ARGUMENT for a body that is not text or a bad traceparent. */
function outgoingRequest(
  destination: string,
  body: string,
  options: RequestOptions,
  { traceCalls, limit }: RequestChecks,
): OutgoingRequest {
  // Checked here, not at the write: a write that throws is taken for a lost connection.
  if (typeof body !== 'string' || typeof destination !== 'string') {
    throw new RpcError('INVALID_ARGUMENT', 'the destination and the body must be strings');
  }
  if (!isStompDestination(destination)) {
    const shown = JSON.stringify(destination.slice(0, 80));
    throw new RpcError(
      'INVALID_ARGUMENT',
      `not a destination (/queue/…, /amq/queue/…, /exchange/…, /topic/…, /temp-queue/…, /reply-queue/…): ${shown}`,
    );
  }
  // Copies, checked and kept: the request is written later (at the end of the turn, and again if
  // re-sent), and a caller may change or reuse its objects once the call is made.
  const headers = { ...options.headers };
  const declare = options.declare ? ownCopy(options.declare) : defaultDeclaration(destination, headers);
  const badHeaders = badRequestHeaders(headers) ?? badRequestHeaders(declare ?? {});
  if (badHeaders) throw new RpcError('INVALID_ARGUMENT', badHeaders);
  const oversized = limit.check({ destination, body, headers, declare });
  if (oversized) throw oversized;
  // A string 'false' would be true: a call that may not run twice re-sent after a reconnect.
  if (options.idempotent !== undefined && typeof options.idempotent !== 'boolean') {
    throw new RpcError('INVALID_ARGUMENT', 'idempotent must be true or false');
  }
  const traceparent = options.traceparent ?? (traceCalls ? newTraceparent() : undefined);
  if (traceparent !== undefined && (typeof traceparent !== 'string' || !isTraceparent(traceparent))) {
    throw new RpcError('INVALID_ARGUMENT', `not a traceparent: ${JSON.stringify(String(traceparent).slice(0, 60))}`);
  }
  return {
    destination,
    queue: options.queue ?? queueOfDestination(destination),
    body,
    headers,
    declare,
    idempotent: options.idempotent ?? false,
    traceparent,
  };
}

/**
 * What declares a `/queue/` destination when the caller says nothing, in `declare` or its own
 * headers: the servers' default. RabbitMQ would declare it durable, and a queue our servers (or
 * the tutorial's) declared otherwise makes it close the connection at the first request.
 */
function defaultDeclaration(
  destination: string,
  headers: Readonly<Record<string, string>>,
): Readonly<Record<string, string>> | undefined {
  if (!destination.startsWith('/queue/')) return undefined;
  return DECLARATION_NAMES.some((name) => Object.hasOwn(headers, name)) ? undefined : DEFAULT_DECLARATION;
}

const DEFAULT_DECLARATION = Object.freeze(queueDeclarationHeaders());
const DECLARATION_NAMES = Object.keys(DEFAULT_DECLARATION);

/** A caller's object as it is now: a frozen one (the service clients' declarations) cannot change. */
function ownCopy(headers: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  return Object.isFrozen(headers) ? headers : { ...headers };
}

/** How each request is checked and completed, from the client's options. */
interface RequestChecks {
  traceCalls: boolean;
  limit: RequestLimit;
}

/**
 * A call that ended while out on this connection, other than by its server's own end (a reply, a
 * remote error, an end the client refused), OVERLOADED or NO_SERVERS: aborted, a stream left,
 * refused or broken, timed out, the client closed. The servers are told (protocol CANCEL_TOPIC), so
 * that none goes on working for nobody; always when its caller ended it (`by`). So are they, however
 * it ended but by OVERLOADED or NO_SERVERS, when the request went out again on this connection:
 * another server may be running a copy (a cancel for an answered request is ignored). The cancel
 * of a TIMEOUT says DEADLINE_EXCEEDED (`rpc-error-code`). The cancel carries the requests'
 * `reply-to`, which the broker turns into this connection's own reply queue, as it did for the
 * request: a server obeys a cancel only from there.
 */
function cancelIfGivenUp(
  connection: Transport,
  destination: string,
  call: Call,
  outcome: RpcReply | RpcError,
  by: EndedBy | undefined,
): void {
  const { sent, resentHere } = call.delivery;
  const local = outcome instanceof RpcError && !outcome.remote;
  const needless = local && NO_CANCEL_NEEDED.has(outcome.code);
  const serverDone = by === 'server' || !local;
  if (!sent || !(by === 'caller' || (!needless && (resentHere || !serverDone)))) return;
  try {
    const headers: Record<string, string> = { [Header.correlationId]: call.correlationId, [Header.replyTo]: REPLY_TO };
    // Its deadline passed: the server ends the call as at its own deadline, not as cancelled.
    if (local && outcome.code === 'TIMEOUT' && by !== 'caller') headers[Header.errorCode] = 'DEADLINE_EXCEEDED';
    connection.publish({ destination, body: '', headers });
  } catch {
    // disconnected: the request's own deadline still stops the server
  }
}

/** Asks every server "who is there?" at `destination`; each answers on this connection's reply queue. */
function ping(connection: Transport, destination: string, receiptId: string): void {
  try {
    const headers = { [Header.replyTo]: REPLY_TO, [Header.receipt]: receiptId };
    connection.publish({ destination, body: '', headers });
  } catch {
    // disconnected: the next probe or connection pings again
  }
}

/** The client's settings from its options, checked; INVALID_ARGUMENT for a bad one. */
function checkClientOptions(options: RpcClientOptions) {
  const whenNoServers = options.whenNoServers ?? CLIENT_DEFAULTS.whenNoServers;
  if (whenNoServers !== 'fail' && whenNoServers !== 'wait') {
    throw new RpcError('INVALID_ARGUMENT', `whenNoServers must be 'fail' or 'wait', got ${String(whenNoServers)}`);
  }
  const confirmRequests = options.confirmRequests ?? CLIENT_DEFAULTS.confirmRequests;
  const presence = options.presence ?? CLIENT_DEFAULTS.presence;
  const discoveryMs = checkMs(options.discoveryMs ?? CLIENT_DEFAULTS.discoveryMs, 'discoveryMs', 0);
  const exchange = options.exchange === undefined ? undefined : checkName(options.exchange, 'exchange');
  return {
    exchange,
    signals: signalDestinations(exchange),
    cancels: options.cancels ?? CLIENT_DEFAULTS.cancels,
    timeoutMs: checkMs(options.timeoutMs ?? CLIENT_DEFAULTS.timeoutMs, 'timeoutMs'),
    discoveryMs,
    confirmRequests,
    requestChecks: {
      traceCalls: options.traceCalls ?? CLIENT_DEFAULTS.traceCalls,
      limit: new RequestLimit(
        checkCount(options.maxRequestBytes ?? CLIENT_DEFAULTS.maxRequestBytes, 'maxRequestBytes'),
      ),
    },
    resendUnconfirmedMs: confirmRequests
      ? checkMs(options.resendUnconfirmedMs ?? CLIENT_DEFAULTS.resendUnconfirmedMs, 'resendUnconfirmedMs', 0)
      : 0,
    discovery: {
      enabled: presence,
      failFast: presence && whenNoServers === 'fail',
      watch: options.watchServers ?? options.onServersChange !== undefined,
      discoveryMs,
    },
  };
}

/**
 * A reply as the caller gets it: the server's error, or the body with who answered and how fast.
 * A plain call that gets a stream's reply, or a stream a plain reply, gets BAD_REPLY.
 */
function replyOutcome(
  message: IncomingMessage,
  { server, serverMs }: ReturnType<typeof parseServedBy>,
  latencyMs: number,
  call: Call,
): RpcReply | RpcError {
  const { headers, body } = message;
  const errorCode = headers[Header.errorCode];
  if (errorCode !== undefined) return RpcError.fromReply(errorCode, body);
  const mark = headers[Header.stream];
  const expected = call.onItem ? mark === StreamMark.item || mark === StreamMark.end : mark === undefined;
  if (!expected) return new RpcError('BAD_REPLY', `unexpected ${Header.stream} ${JSON.stringify(mark ?? 'none')}`);
  const { traceparent } = call.request;
  return {
    body,
    headers,
    server,
    serverMs,
    latencyMs,
    traceparent,
  };
}

/** A call held for discovery that no server came for; one sent before a reconnect is not sent again. */
function noServersError({ request, delivery, nextItem }: Call): RpcError {
  const items =
    nextItem > 0 ? `the stream had ${nextItem} item${nextItem === 1 ? '' : 's'} when the connection was lost; ` : '';
  const again = delivery.sends > 0 ? ' again' : '';
  return new RpcError(
    'NO_SERVERS',
    `${items}no server announced itself for ${request.queue} on ${PRESENCE_TOPIC}, so the request was not sent${again} ` +
      "(whenNoServers: 'fail'); servers that do not announce themselves, like the tutorial's, " +
      "are answered with whenNoServers: 'wait', the default",
  );
}
