/*
 * The server loop: consume a request queue, hand each request to a handler, reply, then ACK.
 *
 * - The queue is consumed with `ack: client-individual` and a `prefetch-count`, so the broker
 *   hands this server at most `prefetch` requests at a time (the tutorial's fair dispatch is 1) and
 *   redelivers any it did not ACK: a server killed mid-request loses nothing.
 * - The reply goes out before the ACK. A crash between the two means the request is redelivered
 *   and answered twice; the client drops the second answer (it no longer waits for it).
 * - Every request is ACKed once handled, including invalid ones (they get an error reply), so
 *   bad input is never requeued forever.
 * - `reply-to` must name a reply queue (see replyDestination in the protocol); a request without
 *   one, or asking to reply into any other destination, or without a correlation-id of at most
 *   256 characters, is logged and dropped.
 * - A request's `expiration` is the caller's remaining budget. The broker drops the request once
 *   that passes while it is queued; the server counts the budget from delivery (it cannot see the
 *   time spent queued, and the caller's clock is not comparable to ours) and skips work that would
 *   start later than that with DEADLINE_EXCEEDED.
 * - A request belongs to the connection it arrived on. When that connection drops the broker
 *   requeues the request, so the server neither replies to nor ACKs it on the next connection:
 *   the redelivered copy is answered instead, once.
 * - stop() does not UNSUBSCRIBE: RabbitMQ refuses ACKs for a cancelled subscription ("Subscription
 *   not found"), so the requests in hand would be redelivered and answered twice. It keeps the
 *   subscription and holds, unanswered, whatever arrives after the stop began (those fill the
 *   prefetch window, so the broker sends no more; NACKing them at once would only have them sent
 *   straight back), lets the requests in hand finish and ACK, then NACKs with requeue the held
 *   ones and whatever is still unfinished after the grace period (another server answers those;
 *   this one sends no reply for them), and only then disconnects.
 * - Presence (protocol in the client's presence.ts): the server says "hello" on the presence topic
 *   once its subscription is confirmed, "beat" every `presenceMs` with its counters, and "bye" as
 *   soon as stop() begins, and answers every "who is there?" ping on the asker's reply queue.
 *   Replies name the server (`rpc-server`) and its processing time (`rpc-server-time-ms`).
 */
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { IMessage } from '@stomp/stompjs';
import {
  type AnnouncementKind,
  DEFAULT_QUEUE,
  type ErrorCode,
  Header,
  LatencyHistogram,
  PING_TOPIC,
  PRESENCE_TOPIC,
  type QueueDeclaration,
  type QueueProfile,
  queueDeclarationHeaders,
  queueDestination,
  RpcError,
  replyDestination,
  resolveQueueDeclaration,
  type ServerAnnouncement,
  type ServerStats,
  StompConnection,
  type StompConnectionOptions,
  TEXT_CONTENT_TYPE,
} from '@stomp-rpc/client';
import { v4 as uuidv4 } from 'uuid';
import { type Logger, silentLogger } from './logger.js';
import { SERVER_VERSION } from './version.js';

export interface RpcRequest {
  /** The request body as text. */
  body: string;
  /** All headers of the request, as the broker delivered them. */
  headers: Readonly<Record<string, string>>;
  correlationId: string;
  /** When the caller stops waiting, as a Date.now() time (Infinity without an `expiration`). */
  deadline: number;
}

/** A request being handled, with what decides whether it may still be answered. */
interface InFlight {
  readonly message: IMessage;
  /** The connection it arrived on. */
  readonly generation: number;
  /** Set when stop() gave the request back to the broker. */
  abandoned: boolean;
}

/** Answers one request with the reply body, or throws (an RpcError sets the code; anything else is INTERNAL). */
export type RpcHandler = (request: RpcRequest) => string | Promise<string>;

export interface RpcServerOptions extends StompConnectionOptions {
  handler: RpcHandler;
  /** The queue to consume. @default 'rpc_queue' */
  queue?: string;
  /**
   * How the queue is declared, by profile name or spelled out; must match every other party's.
   * @default 'tutorial' (non-durable, as in the tutorial)
   */
  queueDeclaration?: QueueDeclaration | QueueProfile;
  /** Requests this server holds at once, unacknowledged. @default 1 (the tutorial's fair dispatch) */
  prefetch?: number;
  /** Larger request bodies get INVALID_ARGUMENT without being parsed. @default 4096 */
  maxBodyBytes?: number;
  /** @default no logging */
  logger?: Logger;
  /** This server's id in presence announcements and reply headers. @default 8 random hex digits */
  id?: string;
  /** How often the server announces itself on the presence topic; 0 turns presence off. @default 2000 */
  presenceMs?: number;
  /** Told about every answered request, e.g. to feed Prometheus metrics. */
  observer?: RpcServerObserver;
}

export interface RpcServerObserver {
  /** A request was answered: `code` is undefined for a success. */
  requestDone(code: ErrorCode | undefined, processingMs: number): void;
}

export interface RpcServerStats extends ServerStats {
  /** Requests being handled right now. */
  inFlight: number;
  reconnects: number;
}

/** At most this many pings are answered per second, so a ping flood cannot multiply itself. */
const PONGS_PER_SECOND = 200;
/** Longer correlation ids are not echoed (a reply would carry the caller's junk back); the request is dropped. */
const MAX_CORRELATION_ID_LENGTH = 256;
const HOST = hostname();

export class RpcServer {
  readonly #connection: StompConnection;
  readonly #options: Required<
    Pick<RpcServerOptions, 'handler' | 'queue' | 'prefetch' | 'maxBodyBytes' | 'logger' | 'id' | 'presenceMs'>
  >;
  readonly #observer: RpcServerObserver | undefined;
  readonly #subscribeHeaders: Record<string, string>;
  /** Resolves when the broker first confirms a subscription, whichever connection made it. */
  readonly #subscribed: Promise<void>;
  #markSubscribed: () => void = () => {};
  #stopping: Promise<void> | undefined;
  /** Requests that arrived after stop() began: held unanswered (they fill the prefetch window, so no more come) and NACKed at the end. */
  readonly #held: IMessage[] = [];
  readonly #inFlight = new Map<InFlight, Promise<void>>();
  readonly #counts = { requests: 0, succeeded: 0, dropped: 0 };
  readonly #errors: Partial<Record<ErrorCode, number>> = {};
  readonly #latency = new LatencyHistogram();
  #lastError: ServerStats['lastError'];
  readonly #startedAt = new Date().toISOString();
  #beat: ReturnType<typeof setInterval> | undefined;
  #pongWindow = { second: 0, answered: 0 };

  constructor(options: RpcServerOptions) {
    const prefetch = options.prefetch ?? 1;
    if (!Number.isSafeInteger(prefetch) || prefetch < 1) {
      throw new RpcError('INVALID_ARGUMENT', 'prefetch must be a whole number of at least 1');
    }
    this.#options = {
      handler: options.handler,
      queue: options.queue ?? DEFAULT_QUEUE,
      prefetch,
      maxBodyBytes: options.maxBodyBytes ?? 4096,
      logger: options.logger ?? silentLogger,
      id: options.id ?? uuidv4().slice(0, 8),
      presenceMs: options.presenceMs ?? 2000,
    };
    this.#observer = options.observer;
    if (this.#options.presenceMs !== 0 && !(this.#options.presenceMs >= 100 && this.#options.presenceMs <= 3_600_000)) {
      throw new RpcError('INVALID_ARGUMENT', 'presenceMs must be 0 (off) or from 100 to 3600000');
    }
    this.#subscribeHeaders = {
      ack: 'client-individual',
      'prefetch-count': String(prefetch),
      ...queueDeclarationHeaders(resolveQueueDeclaration(options.queueDeclaration)),
    };
    const { logger } = this.#options;
    this.#subscribed = new Promise((resolve) => {
      this.#markSubscribed = resolve;
    });
    this.#connection = new StompConnection(options, {
      onConnected: () => this.#subscribe(),
      onDisconnected: (reason) => logger.warn({ reason: reason.message }, 'connection lost; reconnecting'),
      onConnectFailed: (reason) => logger.warn({ reason: reason.message }, 'cannot connect; retrying'),
      onBrokerError: (error) => logger.error({ reason: error.message }, 'broker error'),
    });
  }

  /** This server's id, as announced and sent in the `rpc-server` reply header. */
  get id(): string {
    return this.#options.id;
  }

  get stats(): RpcServerStats {
    const latency = this.#latency.snapshot();
    return {
      ...this.#counts,
      errors: { ...this.#errors },
      processingMs: { total: latency.sumMs, average: latency.count === 0 ? 0 : latency.sumMs / latency.count },
      latency,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
      inFlight: this.#inFlight.size,
      reconnects: this.#connection.reconnects,
    };
  }

  get state() {
    return this.#connection.state;
  }

  /**
   * Connects and starts consuming; resolves once the broker has confirmed the subscription, so a
   * request published after that is sure to find the queue. Rejects with UNAVAILABLE after
   * `timeoutMs` (the server keeps trying in the background until stop()).
   */
  async start(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    if (this.#options.presenceMs > 0 && this.#beat === undefined) {
      this.#beat = setInterval(() => this.#announce('beat'), this.#options.presenceMs);
    }
    this.#connection.start();
    await this.#connection.whenConnected(timeoutMs);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new RpcError('UNAVAILABLE', `the broker did not confirm the subscription to ${this.#options.queue}`)),
        Math.max(0, deadline - Date.now()),
      );
    });
    try {
      await Promise.race([this.#subscribed, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops taking requests, lets those in hand finish and reply (up to `graceMs`), NACKs with
   * requeue the ones that do not, then disconnects. Calling it again returns the same promise.
   */
  stop(graceMs = 10_000): Promise<void> {
    this.#stopping ??= this.#stop(graceMs);
    return this.#stopping;
  }

  async #stop(graceMs: number): Promise<void> {
    clearInterval(this.#beat);
    this.#announce('bye'); // callers stop counting on this server before it drains
    // Requests from an earlier connection are already back in the queue: nothing to wait for.
    const answerable = [...this.#inFlight].filter(([request]) => this.#mayAnswer(request)).map(([, work]) => work);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled(answerable),
      new Promise((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
    let requeued = 0;
    for (const request of this.#inFlight.keys()) {
      if (!this.#mayAnswer(request)) continue;
      request.abandoned = true;
      this.#requeue(request.message);
      requeued++;
    }
    for (const message of this.#held.splice(0)) this.#requeue(message);
    await this.#connection.close();
    this.#options.logger.info({ queue: this.#options.queue, requeued }, 'stopped');
  }

  #subscribe(): void {
    if (this.#stopping) return;
    const { queue, prefetch, logger, presenceMs } = this.#options;
    const generation = this.#connection.generation;
    // Pings first: the broker handles frames in order, so once the queue subscription is confirmed
    // this server also hears pings, and a client that finds it there can count on an answer.
    if (presenceMs > 0) this.#connection.subscribe(PING_TOPIC, (ping) => this.#answerPing(ping), {});
    const { confirmed } = this.#connection.subscribe(
      queueDestination(queue),
      (message) => {
        if (this.#stopping) this.#held.push(message);
        else this.#track({ message, generation, abandoned: false });
      },
      this.#subscribeHeaders,
    );
    void confirmed.then(() => {
      if (generation !== this.#connection.generation) return; // that connection is gone already
      this.#markSubscribed();
      this.#announce('hello');
      logger.info({ queue, prefetch, url: this.#connection.url, id: this.#options.id }, 'awaiting RPC requests');
    });
  }

  #announcement(kind: AnnouncementKind): ServerAnnouncement {
    const { id, queue, prefetch, presenceMs } = this.#options;
    const { inFlight, reconnects: _reconnects, ...stats } = this.stats;
    return {
      kind,
      id,
      host: HOST,
      pid: process.pid,
      version: SERVER_VERSION,
      queue,
      prefetch,
      inFlight,
      beatMs: presenceMs,
      startedAt: this.#startedAt,
      stats,
    };
  }

  /** Publishes an announcement on the presence topic (or to one asker); skipped while disconnected. */
  #announce(kind: AnnouncementKind, destination = PRESENCE_TOPIC): void {
    if (this.#options.presenceMs === 0 || !this.#connection.connected) return;
    const headers: Record<string, string> = { [Header.contentType]: 'application/json' };
    if (kind === 'pong') headers[Header.presence] = kind;
    try {
      this.#connection.publish({ destination, body: JSON.stringify(this.#announcement(kind)), headers });
    } catch {
      // disconnected meanwhile; the next connection says hello again
    }
  }

  #answerPing(ping: IMessage): void {
    const destination = replyDestination(ping.headers[Header.replyTo]);
    if (destination === undefined || this.#stopping) return;
    const second = Math.floor(Date.now() / 1000);
    if (this.#pongWindow.second !== second) this.#pongWindow = { second, answered: 0 };
    if (++this.#pongWindow.answered > PONGS_PER_SECOND) return;
    this.#announce('pong', destination);
  }

  /** False once the request went back to the broker (stop, or its connection died). */
  #mayAnswer(request: InFlight): boolean {
    return !request.abandoned && request.generation === this.#connection.generation;
  }

  #track(request: InFlight): void {
    const work = this.#handle(request).finally(() => this.#inFlight.delete(request));
    this.#inFlight.set(request, work);
  }

  async #handle(request: InFlight): Promise<void> {
    const { message } = request;
    const receivedAt = Date.now();
    const startedAt = performance.now();
    this.#counts.requests++;
    const { logger, maxBodyBytes, handler } = this.#options;
    const rawReplyTo = message.headers[Header.replyTo];
    const correlationId = message.headers[Header.correlationId];
    const destination = replyDestination(rawReplyTo);
    if (destination === undefined || correlationId === undefined || correlationId.length > MAX_CORRELATION_ID_LENGTH) {
      this.#counts.dropped++;
      const why =
        rawReplyTo === undefined
          ? 'no reply-to'
          : destination === undefined
            ? 'reply-to is not a reply queue'
            : correlationId === undefined
              ? 'no correlation-id'
              : `correlation-id longer than ${MAX_CORRELATION_ID_LENGTH} characters`;
      logger.warn(
        { why, replyTo: rawReplyTo?.slice(0, 200), correlationId: correlationId?.slice(0, 200) },
        'request dropped',
      );
      this.#ack(message);
      return;
    }

    let body: string;
    let code: ErrorCode | undefined;
    try {
      if (message.binaryBody.byteLength > maxBodyBytes) {
        throw new RpcError(
          'INVALID_ARGUMENT',
          `request body is ${message.binaryBody.byteLength} bytes; the limit is ${maxBodyBytes}`,
        );
      }
      const deadline = receivedAt + budgetMs(message.headers[Header.expiration]);
      body = await handler({ body: message.body, headers: message.headers, correlationId, deadline });
    } catch (thrown) {
      const error = RpcError.from(thrown);
      body = error.message;
      code = error.code;
    }
    // Given back to the broker meanwhile (stop, or a new connection): its redelivery is answered.
    if (!this.#mayAnswer(request)) return;
    const processingMs = performance.now() - startedAt;
    if (!this.#reply(destination, correlationId, body, processingMs, code)) return;
    this.#ack(message);
    this.#latency.record(processingMs);
    this.#observer?.requestDone(code, processingMs);
    const traceparent = message.headers[Header.traceparent]?.slice(0, 100);
    if (code === undefined) {
      this.#counts.succeeded++;
      logger.debug({ correlationId, traceparent, ms: processingMs }, 'request answered');
      return;
    }
    this.#errors[code] = (this.#errors[code] ?? 0) + 1;
    this.#lastError = { code, message: body.slice(0, 500), at: new Date().toISOString() };
    const fields = { correlationId: correlationId.slice(0, 200), traceparent, code, error: body.slice(0, 500) };
    if (code === 'INTERNAL') logger.error(fields, 'request failed');
    else logger.warn(fields, 'request failed');
  }

  /** Sends a reply; false when the connection is gone (the request will be redelivered). */
  #reply(
    destination: string,
    correlationId: string,
    body: string,
    processingMs: number,
    errorCode?: ErrorCode,
  ): boolean {
    const headers: Record<string, string> = {
      [Header.correlationId]: correlationId,
      [Header.contentType]: TEXT_CONTENT_TYPE,
      [Header.server]: this.#options.id,
      [Header.serverTimeMs]: processingMs.toFixed(3),
    };
    if (errorCode !== undefined) headers[Header.errorCode] = errorCode;
    try {
      this.#connection.publish({ destination, body, headers });
      return true;
    } catch (error) {
      // Disconnected while handling: the request was not ACKed, so the broker redelivers it.
      this.#options.logger.warn(
        { correlationId, reason: RpcError.from(error).message },
        'reply not sent; the request will be redelivered',
      );
      return false;
    }
  }

  /** Gives a request back to the broker for another server. */
  #requeue(message: IMessage): void {
    try {
      message.nack({ requeue: 'true' });
    } catch {
      // disconnected: the broker requeues it anyway
    }
  }

  #ack(message: IMessage): void {
    try {
      message.ack();
    } catch {
      // The connection is gone; the broker redelivers the request to another consumer.
    }
  }
}

/** The caller's budget from an `expiration` header, in ms; unlimited without one. */
function budgetMs(expiration: string | undefined): number {
  const ms = expiration === undefined ? Number.NaN : Number(expiration);
  return Number.isFinite(ms) && ms >= 0 ? ms : Number.POSITIVE_INFINITY;
}
