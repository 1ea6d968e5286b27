/*
 * The server loop: consume a request queue, hand each request to a handler, reply, then ACK.
 * Its parts: request-intake.ts (what a delivered message is), presence-announcer.ts (who is
 * serving), server-stats.ts (the counters); this file joins them to the connection.
 *
 * - The queue is consumed with `ack: client` and a `prefetch-count`, so the broker hands this
 *   server at most `prefetch` requests at a time and redelivers any it did not ACK: a server killed
 *   mid-request loses nothing. ACKs are cumulative (ack-window.ts): one per event-loop turn covers
 *   every request finished before it.
 * - The reply goes out before the ACK. A crash between the two means the request is redelivered
 *   and answered twice; the client drops the second answer (it no longer waits for it).
 * - Every request is ACKed once handled, including invalid ones (they get an error reply), so
 *   bad input is never requeued forever. Work that would start after the caller's deadline is
 *   skipped by the handler with DEADLINE_EXCEEDED.
 * - A request belongs to the connection it arrived on. When that connection drops the broker
 *   requeues the request, so the server neither replies to nor ACKs it on the next connection:
 *   the redelivered copy is answered instead, once.
 * - stop() does not UNSUBSCRIBE: RabbitMQ refuses ACKs for a cancelled subscription ("Subscription
 *   not found"), so the requests in hand would be redelivered and answered twice. It keeps the
 *   subscription and holds, unanswered, whatever arrives after the stop began (those fill the
 *   prefetch window, so the broker sends no more; NACKing them would only have as many sent
 *   straight back), lets the requests in hand finish and ACK, then disconnects: the broker hands
 *   the held ones and whatever is unacknowledged after the grace period to another server (this
 *   one sends no more replies).
 */
import { performance } from 'node:perf_hooks';
// The public entry for what RpcServer's own types name: its declarations must not need the internal one.
import { RpcError, type StompConnectionOptions } from '@stomp-rpc/client';
import {
  checkCount,
  checkMs,
  checkName,
  MAX_TIMER_MS,
  StompConnection,
  type StompMessage,
} from '@stomp-rpc/client/internal';
import {
  CANCEL_TOPIC,
  DEFAULT_QUEUE,
  type ErrorCode,
  Header,
  isName,
  isServerCode,
  PING_TOPIC,
  type QueueDeclaration,
  type QueueProfile,
  queueDeclarationHeaders,
  queueDestination,
  resolveQueueDeclaration,
  type ServerStats,
} from '@stomp-rpc/client/protocol';
import { v4 as uuidv4 } from 'uuid';
import { type AckEntry, AckWindow } from './ack-window.js';
import { CancellableRequests } from './cancellable-requests.js';
import { MAX_PREFETCH, PRESENCE_MS_RANGE, SERVER_DEFAULTS } from './defaults.js';
import { type Logger, neverThrowing, silentLogger } from './logger.js';
import { PresenceAnnouncer } from './presence-announcer.js';
import { ReplyConfirmations } from './reply-confirmations.js';
import { ReplySender } from './reply-sender.js';
import { checkReplyBytes, fitted, type ReplyBound, replyWithin } from './reply-size.js';
import { RequestControl } from './request-control.js';
import { type IntakeRequest, type RpcRequest, takeRequest } from './request-intake.js';
import { logAnswered, logDropped, logHandlingFailure } from './request-log.js';
import { ServerStatsCounter } from './server-stats.js';
import { sendStream, streamEnd } from './stream-sender.js';
import { Subscriptions } from './subscriptions.js';

export type { RpcRequest } from './request-intake.js';

/** A request being handled, with what decides whether it may still be answered. */
interface InFlight {
  readonly message: StompMessage;
  /** Its place in the acknowledgement order. */
  readonly acknowledgement: AckEntry<StompMessage>;
  /** The connection it arrived on. */
  readonly generation: number;
  /** Set when the request went back to the broker (stop()'s grace ended, or its connection died): no reply goes. */
  abandoned: boolean;
  /** Cancel and deadline; set once the request is known to be answerable. */
  control?: RequestControl;
}

/** A handler's answer: the reply body, or the items of a streamed reply. */
export type HandlerReply = string | AsyncIterable<string>;

/**
 * Answers one request with the reply body (or a stream of item bodies), or throws (an RpcError sets
 * the code; anything else is INTERNAL).
 */
export type RpcHandler = (request: RpcRequest) => HandlerReply | Promise<HandlerReply>;

export interface RpcServerOptions extends StompConnectionOptions {
  handler: RpcHandler;
  /** The queue to consume. @default 'rpc_queue' */
  queue?: string | undefined;
  /**
   * How the queue is declared, by profile name or spelled out; must match every other party's.
   * @default 'tutorial' (non-durable, as in the tutorial)
   */
  queueDeclaration?: QueueDeclaration | QueueProfile | undefined;
  /** Requests this server holds at once, unacknowledged. @default 128 (SERVER_DEFAULTS; the tutorial's is 1) */
  prefetch?: number | undefined;
  /** Larger request bodies get INVALID_ARGUMENT without being parsed. @default 4096 */
  maxBodyBytes?: number | undefined;
  /**
   * Bytes (UTF-8) of one reply or stream item; a larger one goes as INTERNAL instead. Keep it
   * below the broker's frame and message limits: a larger frame closes the server's connection.
   * Set above Web-STOMP's frame limit, it is lowered when the broker closes the connection on a
   * reply (logged as an error), so that the request, redelivered, is answered INTERNAL.
   * @default 253952 (248 KiB, under rabbitmq-conf's 256 KiB)
   */
  maxReplyBytes?: number | undefined;
  /**
   * The deadline, in ms, of a request that carries none (no `expiration`: the tutorial's clients);
   * then its handler's signal fires with DEADLINE_EXCEEDED. A request that never ended would
   * stall the server (SERVER_DEFAULTS).
   * @default 300000
   */
  defaultDeadlineMs?: number | undefined;
  /** @default no logging */
  logger?: Logger | undefined;
  /**
   * This server's id in presence announcements and reply headers: 1 to 256 characters, no control
   * characters (clients ignore announcements with another), and unique among the servers a client
   * sees, on any queue (clients know servers by id). @default 8 random hex digits
   */
  id?: string | undefined;
  /** How often the server announces itself on the presence topic; 0 turns presence off. @default 2000 */
  presenceMs?: number | undefined;
  /** Told about every request that ends (answered, or cancelled: see RpcServerObserver), e.g. to feed Prometheus metrics. */
  observer?: RpcServerObserver | undefined;
  /** A service's procedure names, counted apart in the stats (others are counted in the totals only). */
  procedures?: readonly string[] | undefined;
  /** The procedure a request without `rpc-procedure` runs, for the stats. */
  defaultProcedure?: string | undefined;
  /** Items one streamed reply may have; past them the stream ends with INTERNAL. @default 10000 */
  maxStreamItems?: number | undefined;
  /** Bytes (UTF-16 length) of the items of one streamed reply; past them it ends with INTERNAL. @default 16777216 */
  maxStreamBytes?: number | undefined;
  /**
   * Listen for callers' cancels (protocol CANCEL_TOPIC), which needs read access to `rpc.cancel` on
   * `amq.topic`; false: a cancelled call runs to its end (its deadline still stops it, counted
   * from delivery: a request that waited in the queue runs on after its caller timed out).
   * @default true
   */
  cancels?: boolean | undefined;
  /**
   * Acknowledge a request only once the broker confirmed its reply (a RECEIPT): on a cluster a node
   * that dies between a reply and its ACK could lose the reply and keep the ACK
   * (reply-confirmations.ts). One more frame per reply from the broker.
   * @default true for a quorum queue (the `replicated` profile), false otherwise
   */
  confirmReplies?: boolean | undefined;
}

export interface RpcServerObserver {
  /**
   * A request ended: answered (`code` undefined for a success, else the error sent), or `ABORTED`
   * when its caller cancelled it and no reply went out. `procedure` when the service has one of that name.
   */
  requestDone(code: ErrorCode | undefined, processingMs: number, procedure?: string): void;
}

export interface RpcServerStats extends ServerStats {
  /** Requests being handled right now. */
  inFlight: number;
  reconnects: number;
}

type Settings = Required<
  Pick<
    RpcServerOptions,
    | 'handler'
    | 'queue'
    | 'prefetch'
    | 'maxBodyBytes'
    | 'maxReplyBytes'
    | 'defaultDeadlineMs'
    | 'logger'
    | 'id'
    | 'presenceMs'
    | 'maxStreamItems'
    | 'maxStreamBytes'
  >
>;

export class RpcServer {
  readonly #connection: StompConnection;
  readonly #options: Settings;
  readonly #observer: RpcServerObserver | undefined;
  readonly #subscribeHeaders: Record<string, string>;
  /** The connection's subscriptions: the request queue's, which start()s wait for, and which one the broker refused. */
  readonly #subscriptions: Subscriptions;
  readonly #replies: ReplySender;
  readonly #announcer: PresenceAnnouncer;
  readonly #stats = new ServerStatsCounter();
  #stopping: Promise<void> | undefined;
  /** Every delivery of the current connection until acknowledged, in order; at stop() the close hands back the rest. */
  readonly #acks = new AckWindow<StompMessage>({
    schedule: (flush) => queueMicrotask(flush), // after this turn's replies: the ACK leaves in the same write
    ack: acknowledge,
  });
  readonly #inFlight = new Map<InFlight, Promise<void>>();
  /** Answerable requests by correlation id, for cancel messages. */
  readonly #cancellable = new CancellableRequests();
  readonly #procedures: ReadonlySet<string>;
  readonly #defaultProcedure: string | undefined;
  readonly #listenForCancels: boolean;
  /** Replies awaiting their RECEIPT before their requests' ACK; undefined when not confirmed. */
  readonly #confirmations: ReplyConfirmations | undefined;

  constructor(options: RpcServerOptions) {
    this.#options = checkServerOptions(options);
    this.#observer = options.observer;
    this.#procedures = new Set(options.procedures ?? []);
    this.#defaultProcedure = options.defaultProcedure;
    this.#listenForCancels = options.cancels ?? true;
    const { queue, prefetch, id, logger } = this.#options;
    const consumer = consumerSettings(options, prefetch);
    this.#subscribeHeaders = consumer.subscribeHeaders;
    this.#subscriptions = new Subscriptions(queue, consumer.declarationHeaders);
    const unconfirmed = () => logger.warn({ queue }, 'a reply unconfirmed; its request acknowledged anyway');
    if (consumer.confirmReplies) this.#confirmations = new ReplyConfirmations(unconfirmed);
    this.#connection = new StompConnection(options, {
      onConnected: () => this.#subscribe(),
      onReceipt: (receiptId) => this.#confirmations?.receipt(receiptId),
      onDisconnected: (reason) => {
        const refusal = this.#subscriptions.lost(reason);
        if (refusal) logger.error({ queue, reason: refusal.message }, 'subscription refused; reconnecting');
        else logger.warn({ reason: reason.message }, 'connection lost; reconnecting');
        this.#replies.connectionLost(reason);
        this.#confirmations?.reset();
        this.#giveBack(new RpcError('CONNECTION_LOST', 'the connection died: the request goes to a server again'));
      },
      onConnectFailed: (reason) => logger.warn({ reason: reason.message }, 'cannot connect; retrying'),
      onBrokerError: (error) => logger.error({ reason: error.message }, 'broker error'),
    });
    this.#replies = new ReplySender(this.#connection, this.#options);
    this.#announcer = new PresenceAnnouncer(
      { id, queue, prefetch, presenceMs: this.#options.presenceMs },
      {
        publish: (frame) => this.#connection.publish(frame),
        connected: () => this.#connection.connected,
        consuming: () => this.#subscriptions.consuming,
        status: () => ({ stats: this.#stats.snapshot(), inFlight: this.#inFlight.size }),
      },
    );
  }

  /** This server's id, as announced and sent in the `rpc-server` reply header. */
  get id(): string {
    return this.#options.id;
  }

  get stats(): RpcServerStats {
    return { ...this.#stats.snapshot(), inFlight: this.#inFlight.size, reconnects: this.#connection.reconnects };
  }

  get state() {
    return this.#connection.state;
  }

  /**
   * Connects and starts consuming; resolves once the broker has confirmed the subscription, so a
   * request published after that is sure to find the queue. Rejects with UNAVAILABLE after
   * `timeoutMs` (the server keeps trying in the background until stop()), with CLOSED on stop().
   */
  async start(timeoutMs: number = SERVER_DEFAULTS.startTimeoutMs): Promise<void> {
    checkMs(timeoutMs, 'timeoutMs');
    if (this.#stopping) throw new RpcError('CLOSED', 'the server is stopped; make a new one');
    const deadline = performance.now() + timeoutMs;
    this.#connection.start();
    this.#announcer.start();
    await this.#connection.whenConnected(timeoutMs);
    if (this.#stopping) throw stoppedBeforeConfirmed(); // stop() came as this start() was connected
    await this.#subscriptions.wait(Math.max(0, deadline - performance.now()));
  }

  /**
   * Stops taking requests, lets those in hand finish and reply (up to `graceMs`), then disconnects,
   * which hands the ones that did not back to the broker. A start() still waiting rejects with CLOSED.
   * Calling it again returns the same promise.
   */
  stop(graceMs: number = SERVER_DEFAULTS.graceMs): Promise<void> {
    this.#subscriptions.abandon(stoppedBeforeConfirmed());
    this.#stopping ??= this.#stop(graceMs);
    return this.#stopping;
  }

  async #stop(graceMs: number): Promise<void> {
    this.#announcer.stop();
    // Requests from an earlier connection are already back in the queue: nothing to wait for.
    const answerable = [...this.#inFlight].filter(([request]) => this.#mayAnswer(request)).map(([, work]) => work);
    await settledWithin(Promise.allSettled(answerable), graceMs);
    for (const request of this.#inFlight.keys()) request.abandoned = true;
    const requeued = this.#acks.settleForClose();
    this.#giveBack(new RpcError('CLOSED', 'the server stopped: the request goes to a server again'));
    await this.#connection.close();
    this.#confirmations?.reset(); // their timers must not outlive the server
    this.#options.logger.info({ queue: this.#options.queue, requeued }, 'stopped');
  }

  #subscribe(): void {
    if (this.#stopping) return;
    const { queue, prefetch, logger } = this.#options;
    const generation = this.#connection.generation;
    this.#acks.reset(); // the broker requeued the last connection's unacknowledged deliveries
    this.#subscriptions.connected(this.#connection.url);
    const subscribe = (destination: string, onMessage: (message: StompMessage) => void, headers = {}) =>
      this.#subscriptions.sent(destination, this.#connection.subscribe(destination, onMessage, headers).confirmed);
    // Pings first: the broker handles frames in order, so once the queue subscription is confirmed
    // this server also hears pings, and a client that finds it there can count on an answer.
    if (this.#announcer.enabled) {
      subscribe(PING_TOPIC, (ping) => {
        if (!this.#stopping) this.#announcer.answerPing(ping.headers[Header.replyTo]);
      });
    }
    const onCancel = ({ headers }: StompMessage) =>
      this.#cancellable.cancel(headers[Header.correlationId], headers[Header.replyTo], headers[Header.errorCode]);
    if (this.#listenForCancels) subscribe(CANCEL_TOPIC, onCancel);
    const confirmed = subscribe(
      queueDestination(queue),
      (message) => {
        const acknowledgement = this.#acks.add(message);
        // After stop() began: held unanswered; they fill the prefetch window, so no more come.
        if (!this.#stopping) this.#track({ message, acknowledgement, generation, abandoned: false });
      },
      this.#subscribeHeaders,
    );
    void confirmed.then(() => {
      if (generation !== this.#connection.generation) return; // that connection is gone already
      this.#subscriptions.queueConfirmed();
      this.#announcer.announce('hello');
      logger.info({ queue, prefetch, url: this.#connection.url, id: this.#options.id }, 'awaiting RPC requests');
    });
  }

  /**
   * The requests in hand went back to the broker (their connection died, or stop()'s grace ended):
   * their handlers' signals fire, so that none works on for a reply that cannot go.
   */
  #giveBack(reason: RpcError): void {
    for (const request of this.#inFlight.keys()) {
      request.abandoned = true; // no reply is tried (and logged as not sent) for it
      request.control?.abort(reason);
    }
  }

  /** False once the request went back to the broker (stop, or its connection died). */
  #mayAnswer(request: InFlight): boolean {
    return !request.abandoned && request.generation === this.#connection.generation;
  }

  #track(request: InFlight): void {
    // In the map before the handler runs: a handler that calls stop() at once is waited for too.
    let finished = () => {};
    this.#inFlight.set(request, new Promise<void>((resolve) => (finished = resolve)));
    void this.#handle(request)
      .catch((error: unknown) => logHandlingFailure(this.#options.logger, error))
      .finally(() => {
        this.#inFlight.delete(request);
        request.control?.dispose();
        finished();
      });
  }

  async #handle(request: InFlight): Promise<void> {
    const { message } = request;
    const startedAt = performance.now();
    this.#stats.received();
    const intake = takeRequest(
      { headers: message.headers, byteLength: message.byteLength, readBody: () => message.body },
      this.#options,
      Date.now(),
    );
    if (intake.kind === 'drop') {
      this.#stats.dropped();
      logDropped(this.#options.logger, message.headers, intake.why);
      this.#acks.finish(request.acknowledgement);
      return;
    }
    const { correlationId } = intake.request;
    const control = new RequestControl(intake.request.deadline);
    request.control = control;
    // A cancelled request's handler sees its signal abort, and the caller gets no reply.
    const forget = this.#cancellable.add(correlationId, { replyTo: message.headers[Header.replyTo], control });
    const procedure = this.#procedureName(intake.request.procedure);
    let ended = false;
    try {
      const send = (body: string, headers: Record<string, string>) =>
        this.#mayAnswer(request) && this.#replies.send(intake.replyTo, correlationId, body, startedAt, headers);
      const { body, code, streamed, stack } = await this.#run(intake.request, intake.refusal, control, send, () =>
        this.#mayAnswer(request) ? control.reason : new RpcError('CONNECTION_LOST', 'given back to the broker'),
      );
      // Given back to the broker meanwhile (stop, or a new connection): its redelivery is answered.
      if (!this.#mayAnswer(request)) return;
      const processingMs = performance.now() - startedAt;
      // Cancelled by its caller: nobody waits for a reply, so none goes.
      const headers: Record<string, string> =
        code !== undefined ? { [Header.errorCode]: code } : streamed !== undefined ? streamEnd(streamed) : {};
      // Decided now: a cancel that comes while the reply's RECEIPT is awaited is for an answered call.
      const cancelled = control.cancelled;
      const confirming = cancelled ? undefined : this.#confirmations?.expect();
      if (!cancelled && !send(body, confirming ? { ...headers, receipt: confirming.receiptId } : headers)) return;
      forget();
      if (confirming && !(await confirming.confirmed) && !this.#mayAnswer(request)) return; // redelivered
      this.#acks.finish(request.acknowledgement);
      ended = true;
      if (cancelled)
        this.#stats.cancelled(procedure); // not a failure: nobody waits for it
      else {
        this.#stats.answered(processingMs, code, body, procedure);
        logAnswered(this.#options.logger, intake.request, processingMs, { body, code, stack });
      }
      this.#observer?.requestDone(cancelled ? 'ABORTED' : code, processingMs, procedure); // last: it may throw
    } finally {
      forget();
      if (!ended) this.#stats.givenBack(); // its redelivery is counted where it is answered
    }
  }

  /** The name a request's procedure is counted under, when it is one of the service's. */
  #procedureName(header: string | undefined): string | undefined {
    const name = header ?? this.#defaultProcedure;
    return name !== undefined && this.#procedures.has(name) ? name : undefined;
  }

  /**
   * Runs the handler: its answer, or the error it threw (or the refusal made before it could run).
   * A streamed answer is sent item by item here; what is returned is then its end.
   */
  async #run(
    intake: IntakeRequest,
    refusal: RpcError | undefined,
    control: RequestControl,
    send: (body: string, headers: Record<string, string>) => boolean,
    stopped: () => RpcError | undefined,
  ): Promise<{ body: string; code?: ErrorCode; streamed?: number; stack?: string }> {
    try {
      if (refusal) throw refusal;
      // Stopped already (its deadline passed before it arrived): the handler must not run at all.
      const stoppedAlready = control.reason;
      if (stoppedAlready) throw stoppedAlready;
      const request: RpcRequest = {
        ...intake,
        get signal() {
          return control.signal;
        },
      };
      const answer = await answerUnlessStopped(control, Promise.resolve(this.#options.handler(request)));
      if (typeof answer === 'string') return replyWithin(answer, this.#replies.limit);
      const streamed = await sendStream(
        answer,
        { ...this.#options, replyBound: this.#replies.limit },
        {
          send,
          stopped,
          within: (work) => control.within(work),
          backlog: () => this.#connection.bufferedAmount,
        },
      );
      if (streamed instanceof RpcError) throw streamed;
      return { body: '', streamed };
    } catch (thrown) {
      return failureReply(thrown, this.#replies.limit);
    }
  }
}

/**
 * The error reply for what a handler threw, with the stack of an INTERNAL failure for the log
 * (never sent: the caller gets the message only).
 */
function failureReply(thrown: unknown, bound: ReplyBound): { body: string; code: ErrorCode; stack?: string } {
  const error = RpcError.from(thrown);
  // A handler may pass on what one of its own calls failed with (TIMEOUT, say, or a server's
  // DEADLINE_EXCEEDED): its caller must not take that for what happened to its own call.
  const reply =
    isServerCode(error.code) && !error.remote
      ? { body: fitted(error.message, bound), code: error.code }
      : { body: fitted(`${error.code}: ${error.message}`, bound), code: 'INTERNAL' as const };
  const stack = reply.code === 'INTERNAL' ? stackOf(thrown) : undefined;
  return stack === undefined ? reply : { ...reply, stack };
}

/** The handler's answer, unless its request is stopped first; a stream it makes after that is closed. */
function answerUnlessStopped(control: RequestControl, produced: Promise<HandlerReply>): Promise<HandlerReply> {
  return control.within(produced).catch((stop: unknown) => {
    void produced.then(closeUnread, () => {}); // nobody will read it
    throw stop;
  });
}

/**
 * Ends a stream nobody will read, as a reader that stops early does: its return() runs. (An async
 * generator not yet started ends without running its body: open what it needs inside it.)
 */
function closeUnread(answer: HandlerReply): void {
  if (typeof answer === 'string') return;
  try {
    void Promise.resolve(answer?.[Symbol.asyncIterator]?.().return?.()).catch(() => {});
  } catch {
    // not an iterable, or one that fails to close: nothing more to do
  }
}

/** Where `thrown` was made, and its cause: what a stream's producer throws arrives wrapped (stream-sender.ts). */
function stackOf(thrown: unknown): string | undefined {
  if (!(thrown instanceof Error)) return undefined;
  const { cause } = thrown;
  return cause instanceof Error && cause.stack ? `${thrown.stack}\nCaused by: ${cause.stack}` : thrown.stack;
}

/** The queue's SUBSCRIBE headers, and whether replies are confirmed (by default, on a quorum queue). */
function consumerSettings(options: RpcServerOptions, prefetch: number) {
  const declaration = resolveQueueDeclaration(options.queueDeclaration);
  const quorum = declaration.arguments?.['x-queue-type'] === 'quorum';
  const declarationHeaders = queueDeclarationHeaders(declaration);
  return {
    declarationHeaders,
    subscribeHeaders: { ack: 'client', 'prefetch-count': String(prefetch), ...declarationHeaders },
    confirmReplies: options.confirmReplies ?? quorum,
  };
}

/** ACKs a delivery (and, in `client` mode, every earlier one). */
function acknowledge(message: StompMessage): void {
  try {
    message.ack();
  } catch {
    // The connection is gone; the broker redelivers the request to another consumer.
  }
}

const stoppedBeforeConfirmed = () =>
  new RpcError('CLOSED', 'the server was stopped before the broker confirmed its subscription');

/**
 * Whether `promise` resolves within `ms` (a rejection passes through); the timer never outlives it.
 * `ms` is held to what a timer can wait (Node runs a longer one, Infinity included, after 1 ms).
 */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.min(Math.max(0, ms || 0), MAX_TIMER_MS));
  });
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The server's settings from its options, checked; INVALID_ARGUMENT for a bad one. */
function checkServerOptions(options: RpcServerOptions): Settings {
  const prefetch = checkCount(options.prefetch ?? SERVER_DEFAULTS.prefetch, 'prefetch');
  if (prefetch > MAX_PREFETCH)
    throw new RpcError('INVALID_ARGUMENT', `prefetch is at most ${MAX_PREFETCH} (AMQP's limit)`);
  const presenceMs = options.presenceMs ?? SERVER_DEFAULTS.presenceMs;
  const { min, max } = PRESENCE_MS_RANGE;
  if (presenceMs !== 0 && !(presenceMs >= min && presenceMs <= max)) {
    throw new RpcError('INVALID_ARGUMENT', `presenceMs must be 0 (off) or from ${min} to ${max}`);
  }
  if (typeof options.handler !== 'function') throw new RpcError('INVALID_ARGUMENT', 'handler must be a function');
  if (options.id !== undefined && !isName(options.id))
    throw new RpcError('INVALID_ARGUMENT', 'id must be 1 to 256 characters without control characters');
  return {
    handler: options.handler,
    queue: checkName(options.queue ?? DEFAULT_QUEUE, 'queue'),
    prefetch,
    maxBodyBytes: checkCount(options.maxBodyBytes ?? SERVER_DEFAULTS.maxBodyBytes, 'maxBodyBytes'),
    maxReplyBytes: checkReplyBytes(options.maxReplyBytes ?? SERVER_DEFAULTS.maxReplyBytes),
    defaultDeadlineMs: checkMs(options.defaultDeadlineMs ?? SERVER_DEFAULTS.defaultDeadlineMs, 'defaultDeadlineMs'),
    logger: options.logger ? neverThrowing(options.logger) : silentLogger,
    id: options.id ?? uuidv4().slice(0, 8),
    presenceMs,
    maxStreamItems: checkCount(options.maxStreamItems ?? SERVER_DEFAULTS.maxStreamItems, 'maxStreamItems'),
    maxStreamBytes: checkCount(options.maxStreamBytes ?? SERVER_DEFAULTS.maxStreamBytes, 'maxStreamBytes'),
  };
}
