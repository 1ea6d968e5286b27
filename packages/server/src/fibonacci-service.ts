/*
 * The Fibonacci service (client package, services/fibonacci-definition.ts) implemented: `fib`, the
 * tutorial's procedure (request body n, reply body fib(n), both in decimal), and `fibSequence`,
 * fib(from..to) streamed.
 *
 * Repeated n is answered from a cache of decimal replies bounded in bytes (least recently used
 * dropped first): fib(1000000) takes ~7 ms to compute and ~40 ms to print, its 208,988 digits
 * take ~0.2 MB to keep. Concurrent requests for the same large n share one computation (single
 * flight): the first starts it on the worker pool, the others wait for it. Failures are never
 * cached. A shared computation stops (dropped from the pool's queue, or its worker terminated)
 * only when every request waiting for it was cancelled or passed its deadline; each request
 * stops waiting at once.
 */
import { type FibonacciService, fibonacciService, RpcError } from '@stomp-rpc/client';
import { decodeN } from '@stomp-rpc/client/protocol';
import { SERVER_DEFAULTS } from './defaults.js';
import { fibonacci } from './fibonacci.js';
import type { RpcRequest } from './request-intake.js';
import type { RpcHandler } from './rpc-server.js';
import { type ServiceImplementation, serviceHandler } from './service-server.js';
import type { WorkerPool } from './worker-pool.js';

export interface FibonacciServiceOptions {
  /**
   * Largest n served; larger ones get INVALID_ARGUMENT. fib(1000000) has 208,988 digits. At most
   * MAX_N_LIMIT (100,000,000). @default 1000000
   */
  maxN?: number | undefined;
  /**
   * Worker threads for large n, so the event loop stays free for heart-beats and other requests.
   * Without a pool every n is computed inline.
   */
  pool?: Pick<WorkerPool, 'compute'> | undefined;
  /** n up to this is computed inline even with a pool: fib(20000) takes about 0.2 ms. @default 20000 */
  inlineMaxN?: number | undefined;
  /**
   * Bytes of decimal replies kept for repeated n (each entry counts its digits plus
   * CACHE_ENTRY_OVERHEAD_BYTES); 0 turns the cache off. 32 MiB holds fib(1000000) 160 times over.
   * @default 33554432
   */
  cacheBytes?: number | undefined;
}

/**
 * The largest maxN allowed. fib(n) has about 0.694 * n bits: fib(100000000) has ~69 million, far
 * below V8's BigInt limit of 2^30 bits, past which the computation throws instead of answering.
 */
export const MAX_N_LIMIT = 100_000_000;

/** What one cache entry costs besides its digits (map entry, key, string header), roughly. */
export const CACHE_ENTRY_OVERHEAD_BYTES = 64;

/** Decimal fib(n) by n, least recently used first out, never over `maxBytes`. */
export class FibonacciCache {
  readonly maxBytes: number;
  #bytes = 0;
  /** Map order is use order: a hit moves its entry to the end. */
  readonly #entries = new Map<number, string>();

  constructor(maxBytes: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new RpcError('INVALID_ARGUMENT', 'cacheBytes must be a non-negative safe integer');
    }
    this.maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(n: number): string | undefined {
    const decimal = this.#entries.get(n);
    if (decimal !== undefined) {
      this.#entries.delete(n);
      this.#entries.set(n, decimal);
    }
    return decimal;
  }

  /** Keeps `decimal` unless it alone is over the bound; evicts the least recently used to make room. */
  set(n: number, decimal: string): void {
    const cost = entryBytes(decimal);
    if (cost > this.maxBytes || this.#entries.has(n)) return;
    for (const [oldN, oldDecimal] of this.#entries) {
      if (this.#bytes + cost <= this.maxBytes) break;
      this.#entries.delete(oldN);
      this.#bytes -= entryBytes(oldDecimal);
    }
    this.#entries.set(n, decimal);
    this.#bytes += cost;
  }
}

/** Digits are one byte each (V8 keeps ASCII strings one byte per character). */
function entryBytes(decimal: string): number {
  return decimal.length + CACHE_ENTRY_OVERHEAD_BYTES;
}

/** n from a request body, at most `maxN`: the protocol's rule (INVALID_ARGUMENT otherwise). */
export const parseN = decodeN;

/** The Fibonacci service's RpcHandler: `fib` by default, as the tutorial's server answers. */
export function fibonacciHandler(options: FibonacciServiceOptions = {}): RpcHandler {
  return serviceHandler(fibonacciService, fibonacciImplementation(options));
}

/** The Fibonacci service's procedures, for serveService() or serviceHandler(). */
export function fibonacciImplementation(
  options: FibonacciServiceOptions = {},
): ServiceImplementation<FibonacciService> {
  const maxN = options.maxN ?? SERVER_DEFAULTS.maxN;
  const inlineMaxN = options.inlineMaxN ?? SERVER_DEFAULTS.inlineMaxN;
  const { pool } = options;
  if (!Number.isSafeInteger(maxN) || maxN < 0 || maxN > MAX_N_LIMIT) {
    throw new RpcError('INVALID_ARGUMENT', `maxN must be a whole number from 0 to ${MAX_N_LIMIT}, got ${maxN}`);
  }
  const cache = new FibonacciCache(options.cacheBytes ?? SERVER_DEFAULTS.cacheBytes);
  const flights = pool === undefined ? undefined : new SharedComputations(pool, cache);
  return {
    fib: (body, request) => {
      const n = parseN(body, maxN);
      const cached = cache.get(n);
      if (cached !== undefined) return cached;
      if (flights === undefined || n <= inlineMaxN) {
        const decimal = fibonacci(n).toString();
        cache.set(n, decimal);
        return decimal;
      }
      return flights.compute(n, request);
    },
    fibSequence: (range, request) => {
      // The protocol bounds a sequence (MAX_SEQUENCE_N); a server run with a lower --max-n serves less.
      if (range.to > maxN) throw new RpcError('INVALID_ARGUMENT', `n must be at most ${maxN}, got to = ${range.to}`);
      return sequence(range, request.signal);
    },
  };
}

/** fib(from..to), each from the two before it: one addition per item after the first two. */
async function* sequence(
  { from, to, pauseMs }: { from: number; to: number; pauseMs: number },
  signal: AbortSignal,
): AsyncIterable<{ n: number; value: bigint }> {
  let [a, b] = [fibonacci(from), fibonacci(from + 1)];
  for (let n = from; n <= to && !signal.aborted; n++) {
    if (n > from && pauseMs > 0) await pause(pauseMs, signal);
    if (signal.aborted) return;
    yield { n, value: a };
    [a, b] = [b, a + b];
  }
}

/** Waits `ms`, less when `signal` aborts meanwhile. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

interface Flight {
  readonly n: number;
  readonly promise: Promise<string>;
  /** Requests still waiting for it; at 0 the computation is stopped. */
  waiting: number;
  readonly stop: AbortController;
}

/** Computations under way on the pool, by n, shared by the requests that ask for the same n. */
class SharedComputations {
  readonly #flights = new Map<number, Flight>();
  readonly #pool: Pick<WorkerPool, 'compute'>;
  readonly #cache: FibonacciCache;

  constructor(pool: Pick<WorkerPool, 'compute'>, cache: FibonacciCache) {
    this.#pool = pool;
    this.#cache = cache;
  }

  compute(n: number, { signal }: RpcRequest): Promise<string> {
    // A request already stopped (its own deadline, a cancel) starts nothing: nobody would stop it.
    if (signal.aborted) return Promise.reject(signal.reason);
    return this.#wait(this.#flights.get(n) ?? this.#start(n), signal);
  }

  /**
   * A computation with no deadline of its own: given its starter's, the pool would skip it then,
   * and fail the requests that joined it with later deadlines. It stops when the last request
   * waiting for it leaves (each one's signal aborts at its deadline).
   */
  #start(n: number): Flight {
    const stop = new AbortController();
    const promise = this.#pool.compute(n, Number.POSITIVE_INFINITY, stop.signal).then(
      (decimal) => {
        this.#land(flight);
        this.#cache.set(n, decimal);
        return decimal;
      },
      (error: unknown) => {
        this.#land(flight);
        throw error;
      },
    );
    promise.catch(() => {}); // every waiter handles it; a stopped one may have none left
    const flight: Flight = { n, promise, waiting: 0, stop };
    this.#flights.set(n, flight);
    return flight;
  }

  /** Takes `flight` off the map, unless a newer computation of its n took its place already. */
  #land(flight: Flight): void {
    if (this.#flights.get(flight.n) === flight) this.#flights.delete(flight.n);
  }

  /** The flight's result for one request, which stops waiting when its signal aborts. */
  #wait(flight: Flight, signal: AbortSignal): Promise<string> {
    if (signal.aborted) return Promise.reject(signal.reason);
    flight.waiting++;
    return new Promise<string>((resolve, reject) => {
      const onAbort = () => {
        reject(signal.reason);
        if (--flight.waiting > 0) return;
        // Off the map before it stops: a request for the same n in this same turn (one socket read
        // delivers several) must start a computation of its own, not join this dying one.
        this.#land(flight);
        flight.stop.abort(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (decimal) => {
          signal.removeEventListener('abort', onAbort);
          flight.waiting--;
          resolve(decimal);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          flight.waiting--;
          reject(error);
        },
      );
    });
  }
}
