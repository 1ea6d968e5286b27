/*
 * The tutorial's service: request body n, reply body fib(n), both in decimal.
 *
 * Repeated n is answered from a cache of decimal replies bounded in bytes (least recently used
 * dropped first): fib(1000000) takes ~13 ms to compute and ~40 ms to print, its 208,988 digits
 * take ~0.2 MB to keep. Concurrent requests for the same large n share one computation (single
 * flight): the first starts it on the worker pool, the others wait for it. A shared computation
 * carries the deadline of the request that started it; a request with a later deadline that sees
 * it skipped (DEADLINE_EXCEEDED) starts its own, once. Failures are never cached.
 */
import { isRpcError, RpcError } from '@stomp-rpc/client';
import { decodeN } from '@stomp-rpc/client/protocol';
import { SERVER_DEFAULTS } from './defaults.js';
import { fibonacci } from './fibonacci.js';
import type { RpcHandler } from './rpc-server.js';
import type { WorkerPool } from './worker-pool.js';

export interface FibonacciServiceOptions {
  /** Largest n served; larger ones get INVALID_ARGUMENT. fib(1000000) has 208,988 digits. @default 1000000 */
  maxN?: number;
  /**
   * Worker threads for large n, so the event loop stays free for heart-beats and other requests.
   * Without a pool every n is computed inline.
   */
  pool?: Pick<WorkerPool, 'compute'>;
  /** n up to this is computed inline even with a pool: fib(20000) takes about 0.2 ms. @default 20000 */
  inlineMaxN?: number;
  /**
   * Bytes of decimal replies kept for repeated n (each entry counts its digits plus
   * CACHE_ENTRY_OVERHEAD_BYTES); 0 turns the cache off. 32 MiB holds fib(1000000) 160 times over.
   * @default 33554432
   */
  cacheBytes?: number;
}

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

/** The tutorial's service: request body n, reply body fib(n), both in decimal. */
export function fibonacciHandler(options: FibonacciServiceOptions = {}): RpcHandler {
  const maxN = options.maxN ?? SERVER_DEFAULTS.maxN;
  const inlineMaxN = options.inlineMaxN ?? SERVER_DEFAULTS.inlineMaxN;
  const { pool } = options;
  if (!Number.isSafeInteger(maxN) || maxN < 0) {
    throw new RpcError('INVALID_ARGUMENT', 'maxN must be a non-negative safe integer');
  }
  const cache = new FibonacciCache(options.cacheBytes ?? SERVER_DEFAULTS.cacheBytes);
  /** Computations under way on the pool, by n. */
  const flights = new Map<number, { promise: Promise<string>; deadline: number }>();

  const computeShared = (n: number, deadline: number, retries: number): Promise<string> => {
    const flight = flights.get(n);
    if (flight === undefined) {
      const promise = (pool as Pick<WorkerPool, 'compute'>).compute(n, deadline).then(
        (decimal) => {
          flights.delete(n);
          cache.set(n, decimal);
          return decimal;
        },
        (error: unknown) => {
          flights.delete(n);
          throw error;
        },
      );
      flights.set(n, { promise, deadline });
      return promise;
    }
    if (retries === 0 || deadline <= flight.deadline) return flight.promise;
    // Joined a computation that may be skipped for its starter's earlier deadline: if it is, and
    // this request still has time, compute again.
    return flight.promise.catch((error: unknown) => {
      if (!isRpcError(error) || error.code !== 'DEADLINE_EXCEEDED' || Date.now() > deadline) throw error;
      return computeShared(n, deadline, retries - 1);
    });
  };

  return (request) => {
    const n = parseN(request.body, maxN);
    const cached = cache.get(n);
    if (cached !== undefined) return cached;
    if (pool === undefined || n <= inlineMaxN) {
      const decimal = fibonacci(n).toString();
      cache.set(n, decimal);
      return decimal;
    }
    return computeShared(n, request.deadline, 1);
  };
}
