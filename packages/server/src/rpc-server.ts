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
 *   one, or asking to reply into any other destination, is logged and dropped.
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
 */
import type { IMessage } from '@stomp/stompjs';
import {
  DEFAULT_QUEUE,
  type ErrorCode,
  Header,
  type QueueDeclaration,
  queueDeclarationHeaders,
  queueDestination,
  RpcError,
  replyDestination,
  StompConnection,
  type StompConnectionOptions,
  TEXT_CONTENT_TYPE,
} from '@stomp-rpc/client';
import { type Logger, silentLogger } from './logger.js';

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
  /** How the queue is declared; must match every other party's declaration. @default non-durable, as in the tutorial */
  queueDeclaration?: QueueDeclaration;
  /** Requests this server holds at once, unacknowledged. @default 1 (the tutorial's fair dispatch) */
  prefetch?: number;
  /** Larger request bodies get INVALID_ARGUMENT without being parsed. @default 4096 */
  maxBodyBytes?: number;
  /** @default no logging */
  logger?: Logger;
}

export interface RpcServerStats {
  /** Requests taken from the queue. */
  received: number;
  /** Success replies sent. */
  succeeded: number;
  /** Error replies sent, by code. */
  errors: Partial<Record<ErrorCode, number>>;
  /** Requests ACKed without a reply: no or refused reply-to, no correlation-id. */
  dropped: number;
  /** Requests being handled right now. */
  inFlight: number;
  reconnects: number;
}

export class RpcServer {
  readonly #connection: StompConnection;
  readonly #options: Required<Pick<RpcServerOptions, 'handler' | 'queue' | 'prefetch' | 'maxBodyBytes' | 'logger'>>;
  readonly #subscribeHeaders: Record<string, string>;
  /** Resolves when the broker first confirms a subscription, whichever connection made it. */
  readonly #subscribed: Promise<void>;
  #markSubscribed: () => void = () => {};
  #stopping: Promise<void> | undefined;
  /** Requests that arrived after stop() began: held unanswered (they fill the prefetch window, so no more come) and NACKed at the end. */
  readonly #held: IMessage[] = [];
  readonly #inFlight = new Map<InFlight, Promise<void>>();
  readonly #counts = { received: 0, succeeded: 0, dropped: 0 };
  readonly #errors: Partial<Record<ErrorCode, number>> = {};

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
    };
    this.#subscribeHeaders = {
      ack: 'client-individual',
      'prefetch-count': String(prefetch),
      ...queueDeclarationHeaders(options.queueDeclaration),
    };
    const { logger } = this.#options;
    this.#subscribed = new Promise((resolve) => {
      this.#markSubscribed = resolve;
    });
    this.#connection = new StompConnection(options, {
      onConnected: () => this.#subscribe(),
      onDisconnected: (reason) => logger.warn('connection lost; reconnecting', { reason: reason.message }),
      onConnectFailed: (reason) => logger.warn('cannot connect; retrying', { reason: reason.message }),
      onBrokerError: (error) => logger.error('broker error', { reason: error.message }),
    });
  }

  get stats(): RpcServerStats {
    return {
      ...this.#counts,
      errors: { ...this.#errors },
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
    this.#options.logger.info('stopped', { queue: this.#options.queue, requeued });
  }

  #subscribe(): void {
    if (this.#stopping) return;
    const { queue, prefetch, logger } = this.#options;
    const generation = this.#connection.generation;
    const { confirmed } = this.#connection.subscribe(
      queueDestination(queue),
      (message) => {
        if (this.#stopping) this.#held.push(message);
        else this.#track({ message, generation, abandoned: false });
      },
      this.#subscribeHeaders,
    );
    void confirmed.then(this.#markSubscribed);
    logger.info('awaiting RPC requests', { queue, prefetch, url: this.#connection.url });
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
    this.#counts.received++;
    const { logger, maxBodyBytes, handler } = this.#options;
    const rawReplyTo = message.headers[Header.replyTo];
    const correlationId = message.headers[Header.correlationId];
    const destination = replyDestination(rawReplyTo);
    if (destination === undefined || correlationId === undefined) {
      this.#counts.dropped++;
      const why =
        rawReplyTo === undefined
          ? 'no reply-to'
          : destination === undefined
            ? 'reply-to is not a reply queue'
            : 'no correlation-id';
      logger.warn('request dropped', {
        why,
        replyTo: rawReplyTo?.slice(0, 200),
        correlationId: correlationId?.slice(0, 200),
      });
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
      if (code === 'INTERNAL') logger.error('handler failed', { correlationId, error: body });
    }
    // Given back to the broker meanwhile (stop, or a new connection): its redelivery is answered.
    if (!this.#mayAnswer(request)) return;
    if (!this.#reply(destination, correlationId, body, code)) return;
    if (code === undefined) this.#counts.succeeded++;
    else this.#errors[code] = (this.#errors[code] ?? 0) + 1;
    this.#ack(message);
  }

  /** Sends a reply; false when the connection is gone (the request will be redelivered). */
  #reply(destination: string, correlationId: string, body: string, errorCode?: ErrorCode): boolean {
    const headers: Record<string, string> = {
      [Header.correlationId]: correlationId,
      [Header.contentType]: TEXT_CONTENT_TYPE,
    };
    if (errorCode !== undefined) headers[Header.errorCode] = errorCode;
    try {
      this.#connection.publish({ destination, body, headers });
      return true;
    } catch (error) {
      // Disconnected while handling: the request was not ACKed, so the broker redelivers it.
      this.#options.logger.warn('reply not sent; the request will be redelivered', {
        correlationId,
        reason: RpcError.from(error).message,
      });
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
