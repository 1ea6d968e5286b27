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
 */
import type { IMessage, StompSubscription } from '@stomp/stompjs';
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
  #subscription: StompSubscription | undefined;
  /** Resolves when the broker confirms the current subscription. */
  #subscribed: Promise<void> = new Promise(() => {});
  #stopping = false;
  readonly #inFlight = new Set<Promise<void>>();
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
   * Stops taking requests, lets those in hand finish (up to `graceMs`), then disconnects. Requests
   * still unfinished are not ACKed, so the broker gives them to another server.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    try {
      this.#subscription?.unsubscribe();
    } catch {
      // not connected: nothing to unsubscribe from
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.#inFlight]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
    await this.#connection.close();
    this.#options.logger.info('stopped', { queue: this.#options.queue });
  }

  #subscribe(): void {
    if (this.#stopping) return;
    const { queue, prefetch, logger } = this.#options;
    const { subscription, confirmed } = this.#connection.subscribe(
      queueDestination(queue),
      (message) => this.#track(this.#handle(message)),
      this.#subscribeHeaders,
    );
    this.#subscription = subscription;
    this.#subscribed = confirmed;
    logger.info('awaiting RPC requests', { queue, prefetch, url: this.#connection.url });
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  async #handle(message: IMessage): Promise<void> {
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
    try {
      if (message.binaryBody.byteLength > maxBodyBytes) {
        throw new RpcError(
          'INVALID_ARGUMENT',
          `request body is ${message.binaryBody.byteLength} bytes; the limit is ${maxBodyBytes}`,
        );
      }
      body = await handler({ body: message.body, headers: message.headers, correlationId });
      if (this.#reply(destination, correlationId, body)) this.#counts.succeeded++;
    } catch (thrown) {
      const error = RpcError.from(thrown);
      this.#errors[error.code] = (this.#errors[error.code] ?? 0) + 1;
      if (error.code === 'INTERNAL') logger.error('handler failed', { correlationId, error: error.message });
      this.#reply(destination, correlationId, error.message, error.code);
    }
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

  #ack(message: IMessage): void {
    try {
      message.ack();
    } catch {
      // The connection is gone; the broker redelivers the request to another consumer.
    }
  }
}
