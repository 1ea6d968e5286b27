/*
 * The tutorial's service as a client: fib(n) by its decimal wire format (protocol/fibonacci.ts)
 * on one queue. It uses an RpcClient rather than being one, so several services can share one
 * connection: pass `client` to use an existing RpcClient (closing this client then leaves it open).
 */

import { decodedFor } from '../core/client-stats.js';
import {
  type RequestOptions,
  RpcClient,
  type RpcClientOptions,
  type RpcClientStats,
  type RpcReply,
} from '../core/rpc-client.js';
import type { ConnectionState } from '../core/transport.js';
import { CLIENT_DEFAULTS } from '../defaults.js';
import { RpcError } from '../errors.js';
import { decodeValue, encodeN } from '../protocol/fibonacci.js';
import type { ServerInfo } from '../protocol/presence.js';
import { type QueueProfile, resolveQueueDeclaration } from '../protocol/queue-profile.js';
import type { QueueDeclaration } from '../protocol/wire.js';
import { type FibonacciItem, type FibonacciService, fibonacciService } from './fibonacci-definition.js';
import { type ProcedureStreamOptions, ServiceClient, serviceExchange, serviceRoute } from './service-client.js';

export interface FibonacciClientOptions extends RpcClientOptions {
  /** The queue the Fibonacci servers consume. @default 'rpc_queue' */
  queue?: string | undefined;
  /**
   * How the queue is declared, by profile name or spelled out; must match the servers'.
   * @default 'tutorial' (non-durable, as in the tutorial)
   */
  queueDeclaration?: QueueDeclaration | QueueProfile | undefined;
  /**
   * Send requests through this exchange, with the queue name as routing key, instead of
   * declaring the queue and publishing to the default exchange as the tutorial does. Pages that
   * log in as the least-privilege browser user set `'rpc'`: that user may publish to the `rpc`
   * exchange only (bound to rpc_queue in definitions.json), so it can neither declare, delete nor
   * fill any other queue. The exchange must exist and route to the queue. The client's pings and
   * cancels go through it too (RpcClientOptions.exchange), so it must also route the routing keys
   * `rpc.ping` and `rpc.cancel` on to `amq.topic`, as definitions.json binds `rpc`. With a shared
   * `client`, that client's exchange is used, and another one is INVALID_ARGUMENT.
   * @default the shared `client`'s exchange; else undefined (declare the queue, use the default exchange)
   */
  exchange?: string | undefined;
  /**
   * An RpcClient to send through, shared with other services. Only queue, queueDeclaration and
   * exchange above still apply; every other option (the connection's, timeoutMs, whenNoServers,
   * traceCalls) is then that client's. close() leaves it open.
   * @default a client of its own, made from these options
   */
  client?: RpcClient | undefined;
}

export type FibonacciCallOptions = Pick<RequestOptions, 'timeoutMs' | 'signal' | 'idempotent' | 'traceparent'>;

export interface FibonacciSequenceOptions extends ProcedureStreamOptions {
  /** Wait this long before each item after the first, at most MAX_SEQUENCE_PAUSE_MS (and MAX_SEQUENCE_PAUSES_MS in all). @default 0 */
  pauseMs?: number | undefined;
}

/** fib(n) with who answered it and how long it took. */
export interface FibonacciResult {
  value: bigint;
  /** Id of the server that answered (see `servers()`), when it says. */
  server: string | undefined;
  /** The server's time for the request in ms, when it says. */
  serverMs: number | undefined;
  /** From the call to the reply, in ms. */
  latencyMs: number;
  /** The W3C trace context the request carried, if any. */
  traceparent: string | undefined;
}

/**
 * The tutorial's `FibonacciRpcClient`: `await client.call(30)` resolves to `832040n`, exact for any
 * n the server accepts.
 */
export class FibonacciRpcClient {
  readonly queue: string;
  /** The RpcClient its requests go through. */
  readonly rpc: RpcClient;
  readonly #ownsClient: boolean;
  #closed = false;
  readonly #destination: string;
  readonly #declarationHeaders: Readonly<Record<string, string>>;
  /** The same queue as a service, for its streamed procedure. */
  readonly #service: ServiceClient<FibonacciService>;

  constructor(options: FibonacciClientOptions = {}) {
    this.queue = options.queue ?? CLIENT_DEFAULTS.queue;
    const exchange = serviceExchange(options);
    const declaration = resolveQueueDeclaration(options.queueDeclaration);
    const route = serviceRoute(this.queue, declaration, exchange);
    this.#destination = route.destination;
    this.#declarationHeaders = route.declare;
    this.#ownsClient = options.client === undefined;
    this.rpc = options.client ?? new RpcClient(options);
    const service = { ...fibonacciService, queue: this.queue, queueDeclaration: declaration };
    this.#service = new ServiceClient(service, { client: this.rpc, ...(exchange === undefined ? {} : { exchange }) });
  }

  /**
   * Computes fib(n) on a server. `n` is a non-negative integer (number, bigint, or its decimal
   * string); anything else rejects with INVALID_ARGUMENT before a request is sent. Fibonacci is
   * pure, so calls are idempotent unless told otherwise.
   */
  async call(n: number | bigint | string, options: FibonacciCallOptions = {}): Promise<bigint> {
    return (await this.callDetailed(n, options)).value;
  }

  /** Like call(), with the server that answered, its processing time and the round trip. */
  async callDetailed(n: number | bigint | string, options: FibonacciCallOptions = {}): Promise<FibonacciResult> {
    if (this.#closed) throw new RpcError('CLOSED', 'this Fibonacci client is closed');
    const reply = await this.rpc.request(this.#destination, encodeN(n), {
      ...options,
      idempotent: options?.idempotent ?? true, // options may be null, from JavaScript
      declare: this.#declarationHeaders,
      queue: this.queue,
    });
    const { server, serverMs, latencyMs, traceparent } = reply;
    const value = decodedFor(this.rpc, () => decodeValue(reply.body, n));
    return { value, server, serverMs, latencyMs, traceparent };
  }

  /**
   * fib(from), fib(from + 1), … fib(to) as they arrive (the service's streamed `fibSequence`; at
   * most MAX_SEQUENCE_LENGTH numbers, `to` at most MAX_SEQUENCE_N). Leaving the loop early stops
   * the server. Our servers only: the tutorial's answer fib(n) alone.
   */
  sequence(from: number, to: number, options: FibonacciSequenceOptions = {}): AsyncIterableIterator<FibonacciItem> {
    // After close() its service is closed too: the first read rejects with CLOSED, as a call does.
    const { pauseMs, ...streamOptions } = options ?? {}; // null too, from JavaScript
    const range = pauseMs === undefined ? { from, to } : { from, to, pauseMs };
    return this.#service.stream('fibSequence', range, streamOptions);
  }

  // The RpcClient's own API, for the one-service case.

  get state(): ConnectionState {
    return this.rpc.state;
  }

  get url(): string {
    return this.rpc.url;
  }

  get stats(): RpcClientStats {
    return this.rpc.stats;
  }

  servers(queue?: string): ServerInfo[] {
    return this.rpc.servers(queue);
  }

  discoverServers(waitMs?: number, queue?: string): Promise<ServerInfo[]> {
    return this.rpc.discoverServers(waitMs, queue);
  }

  ready(timeoutMs?: number): Promise<void> {
    return this.rpc.ready(timeoutMs);
  }

  request(destination: string, body: string, options?: RequestOptions): Promise<RpcReply> {
    if (this.#closed) return Promise.reject(new RpcError('CLOSED', 'this Fibonacci client is closed'));
    return this.rpc.request(destination, body, options);
  }

  /**
   * No more calls through this client: they reject with CLOSED. Closes its own RpcClient (rejecting
   * what is pending); a shared one stays open, and calls already made through it run to their end.
   */
  close(): Promise<void> {
    this.#closed = true;
    void this.#service.close(); // a sequence() not read yet has sent nothing: it must not start now
    return this.#ownsClient ? this.rpc.close() : Promise.resolve();
  }
}
