import { RpcError } from './errors.js';
import { DEFAULT_QUEUE, type QueueDeclaration, queueDeclarationHeaders, queueDestination } from './protocol.js';
import { type QueueProfile, resolveQueueDeclaration } from './queue-profile.js';
import { type RequestOptions, RpcClient, type RpcClientOptions } from './rpc-client.js';

export interface FibonacciClientOptions extends RpcClientOptions {
  /** The queue the Fibonacci servers consume. @default 'rpc_queue' */
  queue?: string;
  /**
   * How the queue is declared, by profile name or spelled out; must match the servers'.
   * @default 'tutorial' (non-durable, as in the tutorial)
   */
  queueDeclaration?: QueueDeclaration | QueueProfile;
  /**
   * Send requests through this exchange, with the queue name as routing key, instead of
   * declaring the queue and publishing to the default exchange as the tutorial does. Pages that
   * log in as the least-privilege browser user set `'rpc'`: that user may publish to the `rpc`
   * exchange only (bound to rpc_queue in definitions.json), so it can neither declare, delete nor
   * fill any other queue. The exchange must exist and route to the queue.
   * @default undefined (declare the queue, use the default exchange)
   */
  exchange?: string;
}

export type FibonacciCallOptions = Pick<RequestOptions, 'timeoutMs' | 'signal' | 'idempotent' | 'traceparent'>;

/** fib(n) with who answered it and how long it took. */
export interface FibonacciResult {
  value: bigint;
  /** Id of the server that answered (see `servers()`), when it says. */
  server: string | undefined;
  /** The server's time for the request in ms, when it says. */
  serverMs: number | undefined;
  /** From the call to the reply, in ms. */
  latencyMs: number;
  traceparent: string;
}

/**
 * The tutorial's `FibonacciRpcClient`: `await client.call(30)` resolves to `832040n`, exact for any
 * n the server accepts.
 */
export class FibonacciRpcClient extends RpcClient {
  readonly queue: string;
  readonly #destination: string;
  readonly #declarationHeaders: Readonly<Record<string, string>>;

  constructor(options: FibonacciClientOptions = {}) {
    super(options);
    this.queue = options.queue ?? DEFAULT_QUEUE;
    const { exchange } = options;
    this.#destination = exchange === undefined ? queueDestination(this.queue) : `/exchange/${exchange}/${this.queue}`;
    const declaration = resolveQueueDeclaration(options.queueDeclaration);
    this.#declarationHeaders = exchange === undefined ? queueDeclarationHeaders(declaration) : {};
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
    const reply = await this.request(this.#destination, toDecimal(n), {
      ...options,
      idempotent: options.idempotent ?? true,
      headers: this.#declarationHeaders,
      queue: this.queue,
    });
    if (!/^[0-9]+$/.test(reply.body)) {
      throw new RpcError('BAD_REPLY', `expected fib(${n}) in decimal, got ${JSON.stringify(reply.body.slice(0, 40))}`);
    }
    const { server, serverMs, latencyMs, traceparent } = reply;
    return { value: BigInt(reply.body), server, serverMs, latencyMs, traceparent };
  }
}

function toDecimal(n: number | bigint | string): string {
  if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) return String(n);
  if (typeof n === 'bigint' && n >= 0n) return n.toString();
  if (typeof n === 'string' && /^(0|[1-9][0-9]*)$/.test(n)) return n;
  const shown = typeof n === 'string' ? JSON.stringify(n.slice(0, 40)) : String(n);
  throw new RpcError('INVALID_ARGUMENT', `n must be a non-negative integer, got ${shown}`);
}
