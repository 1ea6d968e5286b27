import { RpcError } from '@stomp-rpc/client';
import { fibonacci } from './fibonacci.js';
import type { RpcHandler } from './rpc-server.js';

export interface FibonacciServiceOptions {
  /** Largest n served; larger ones get INVALID_ARGUMENT. fib(1000000) has 208,988 digits. @default 1000000 */
  maxN?: number;
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
  if (!Number.isSafeInteger(maxN) || maxN < 0) {
    throw new RpcError('INVALID_ARGUMENT', 'maxN must be a non-negative safe integer');
  }
  return (request) => fibonacci(parseN(request.body, maxN)).toString();
}
