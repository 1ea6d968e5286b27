/*
 * W3C Trace Context (https://www.w3.org/TR/trace-context/), the `traceparent` header only:
 *
 *   00-<trace-id: 32 hex>-<parent-id: 16 hex>-<flags: 2 hex>
 *
 * A call carries the caller's traceparent when it has one (say, from the page's own tracing), or
 * a fresh one, and the server logs it with the request, so one id follows a call from a browser
 * to the server that answered it. Ids come from `crypto.getRandomValues`, which browsers and
 * Node 20 both have as a global.
 */

const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

export function isTraceparent(value: string): boolean {
  return TRACEPARENT.test(value);
}

const randomBytes = new Uint8Array(24);
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** A new sampled traceparent: a random trace id and a random parent (span) id. */
export function newTraceparent(): string {
  globalThis.crypto.getRandomValues(randomBytes);
  // All-zero ids are invalid: one fixed bit in each rules them out.
  randomBytes[15] = (randomBytes[15] as number) | 1;
  randomBytes[23] = (randomBytes[23] as number) | 1;
  let hex = '';
  for (const byte of randomBytes) hex += HEX[byte];
  return `00-${hex.slice(0, 32)}-${hex.slice(32)}-01`;
}
