/*
 * The Fibonacci service's bodies, as in the tutorial: the request is n in decimal ("30"), the reply
 * fib(n) in decimal ("832040"). Both sides check n with the same rule.
 */
import { RpcError } from '../errors.js';

/** n as the wire carries it: a non-negative integer in decimal, no sign, no leading zeros. */
const DECIMAL_N = /^(0|[1-9][0-9]*)$/;
/** A reply body: fib(n) in decimal. */
const DECIMAL_VALUE = /^[0-9]+$/;

/** n (a number, bigint or decimal string) as a request body; INVALID_ARGUMENT for anything else. */
export function encodeN(n: number | bigint | string): string {
  if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) return String(n);
  if (typeof n === 'bigint' && n >= 0n) return n.toString();
  if (typeof n === 'string' && DECIMAL_N.test(n)) return n;
  if (typeof n === 'number' && Number.isInteger(n) && n > 0) {
    // Past 2^53 a number is no longer exact: 2^53 + 1 reads as 2^53.
    throw new RpcError('INVALID_ARGUMENT', `n must be a safe integer (a bigint or a string beyond), got ${n}`);
  }
  const shown = typeof n === 'string' ? JSON.stringify(n.slice(0, 40)) : describe(n);
  throw new RpcError('INVALID_ARGUMENT', `n must be a non-negative integer, got ${shown}`);
}

/** A value for a message: a number as itself, anything else by its type (`[5]` is not 5). */
function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return `a value of type ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}`;
}

/** A request body that is n in decimal, as the wire carries it; INVALID_ARGUMENT otherwise. */
export function checkDecimalN(body: unknown): string {
  if (typeof body !== 'string' || !DECIMAL_N.test(body)) {
    throw new RpcError('INVALID_ARGUMENT', `n must be a non-negative integer in decimal, got ${quoted(String(body))}`);
  }
  return body;
}

/** n from a request body, at most `maxN`; INVALID_ARGUMENT otherwise. */
export function decodeN(body: string, maxN: number): number {
  checkDecimalN(body);
  // Compare as text first: a 400-digit n must not turn into Infinity and slip past the bound.
  if (body.length > String(maxN).length || Number(body) > maxN) {
    throw new RpcError('INVALID_ARGUMENT', `n must be at most ${maxN}, got ${quoted(body)}`);
  }
  return Number(body);
}

/** A caller's text for an error message: quoted, cut after 40 characters. */
function quoted(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/** fib(n) from a reply body; BAD_REPLY when it is not a decimal number. */
export function decodeValue(body: string, n: number | bigint | string): bigint {
  if (!DECIMAL_VALUE.test(body)) {
    throw new RpcError('BAD_REPLY', `expected fib(${n}) in decimal, got ${JSON.stringify(body.slice(0, 40))}`);
  }
  return BigInt(body);
}
