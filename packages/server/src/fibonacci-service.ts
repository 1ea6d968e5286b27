import { RpcError } from '@stomp-rpc/client';
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
  pool?: WorkerPool;
  /** n up to this is computed inline even with a pool: fib(20000) takes about 0.2 ms. @default 20000 */
  inlineMaxN?: number;
}

/**
 * Parses the tutorial's request body: n in canonical decimal ("30"; no sign, exponent, leading
 * zero or whitespace), at most `maxN`.
 */
export function parseN(body: string, maxN: number): number {
  const shown = JSON.stringify(body.length > 40 ? `${body.slice(0, 40)}…` : body);
  if (!/^(0|[1-9][0-9]*)$/.test(body)) {
    throw new RpcError('INVALID_ARGUMENT', `n must be a non-negative integer in decimal, got ${shown}`);
  }
  // Compare as text first: a 400-digit n must not turn into Infinity and slip past the bound.
  if (body.length > String(maxN).length || Number(body) > maxN) {
    throw new RpcError('INVALID_ARGUMENT', `n must be at most ${maxN}, got ${shown}`);
  }
  return Number(body);
}

/** The tutorial's service: request body n, reply body fib(n), both in decimal. */
export function fibonacciHandler(options: FibonacciServiceOptions = {}): RpcHandler {
  const maxN = options.maxN ?? 1_000_000;
  const inlineMaxN = options.inlineMaxN ?? 20_000;
  const { pool } = options;
  if (!Number.isSafeInteger(maxN) || maxN < 0) {
    throw new RpcError('INVALID_ARGUMENT', 'maxN must be a non-negative safe integer');
  }
  return (request) => {
    const n = parseN(request.body, maxN);
    if (pool === undefined || n <= inlineMaxN) return fibonacci(n).toString();
    return pool.compute(n, request.deadline);
  };
}
