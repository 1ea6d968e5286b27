/*
 * W3C Trace Context (https://www.w3.org/TR/trace-context/), the `traceparent` header only:
 *
 *   00-<trace-id: 32 hex>-<parent-id: 16 hex>-<flags: 2 hex>
 *
 * A call carries the caller's traceparent when it has one (say, from the page's own tracing), or
 * a fresh one, and the server logs it with the request, so one id follows a call from a browser
 * to the server that answered it.
 */
import { randomHex } from './random.js';

const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

export function isTraceparent(value: string): boolean {
  return TRACEPARENT.test(value);
}

/** A new sampled traceparent: a random trace id and a random parent (span) id. */
export function newTraceparent(): string {
  const hex = randomHex(24);
  // All-zero ids are invalid; the chance is 2^-64 at worst, but never send one.
  const traceId = /^0+$/.test(hex.slice(0, 32)) ? `${hex.slice(0, 31)}1` : hex.slice(0, 32);
  const parentId = /^0+$/.test(hex.slice(32)) ? `${hex.slice(32, 47)}1` : hex.slice(32);
  return `00-${traceId}-${parentId}-01`;
}
