/*
 * Random ids from `crypto.getRandomValues`, which every browser (secure context or not) and Node 20
 * have as a global; `crypto.randomUUID` exists in secure contexts only, so a page served over
 * plain http could not use it.
 */

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
/** Reused: every call draws a trace context, so no allocation per call. */
const scratch = new Uint8Array(64);

/** `bytes` (at most 64) random bytes as lower-case hex. */
export function randomHex(bytes: number): string {
  const values = globalThis.crypto.getRandomValues(scratch.subarray(0, bytes));
  let hex = '';
  for (const byte of values) hex += HEX[byte];
  return hex;
}
