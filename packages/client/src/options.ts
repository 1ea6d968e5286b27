/*
 * Option checks shared by the classes and the command lines, so each rule is written once.
 */
import { RpcError } from './errors.js';

/** The longest wait a timer can hold: setTimeout fires after 1 ms beyond it (2^31-1 ms, ~24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A duration option, checked: a finite number of ms within `min` and 2^31-1 (setTimeout fires at
 * once beyond that, which would turn a long wait into none).
 */
export function checkMs(value: number, name: string, min = 1): number {
  if (!Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    throw new RpcError('INVALID_ARGUMENT', `${name} must be a number of milliseconds from ${min} to 2147483647`);
  }
  return value;
}

/** A count option (a bound, a window), checked: a whole number of at least 1; NaN would turn its bound off. */
export function checkCount(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RpcError('INVALID_ARGUMENT', `${name} must be a whole number of at least 1, got ${value}`);
  }
  return value;
}

/** RabbitMQ's longest queue or exchange name, in bytes of UTF-8. */
export const MAX_NAME_BYTES = 255;

/**
 * `name` as a queue or exchange name in a destination, checked: 1 to 255 bytes without '/'. An
 * empty name or a '/' would address another destination or none (calls ending only at their
 * deadline), and RabbitMQ refuses a longer name only once connected.
 */
export function checkName(name: string, what: string): string {
  if (typeof name !== 'string' || name === '' || name.includes('/') || utf8Length(name) > MAX_NAME_BYTES) {
    const shown = typeof name === 'string' && name.length > 40 ? `${name.slice(0, 40)}…` : name;
    throw new RpcError(
      'INVALID_ARGUMENT',
      `${what} must be a name of 1 to ${MAX_NAME_BYTES} bytes without '/', got ${JSON.stringify(shown)}`,
    );
  }
  return name;
}

const utf8 = new TextEncoder();
/** Node's Buffer counts without encoding (a large frame's size, several times faster); a page encodes. */
const nodeBuffer = (globalThis as { Buffer?: { byteLength?: unknown } }).Buffer;
const byteLength =
  typeof nodeBuffer?.byteLength === 'function' ? (nodeBuffer.byteLength as (text: string) => number) : undefined;

/** The bytes of `text` in UTF-8 (a lone surrogate as U+FFFD, 3 bytes). */
export const utf8Length: (text: string) => number = byteLength
  ? (text) => byteLength.call(nodeBuffer, text)
  : (text) => utf8.encode(text).length;

/** A callback option, checked: from JavaScript anything may come, and calling it would fail later, on every attempt. */
export function checkFunction<T>(value: T | undefined, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function')
    throw new RpcError('INVALID_ARGUMENT', `${name} must be a function`);
  return value;
}

/**
 * A call's `signal`, checked before the call is registered: anything without AbortSignal's
 * `aborted` and `addEventListener` would throw a TypeError after its request was on its way.
 * `null` is no signal, as for `fetch()`.
 */
export function checkSignal(signal: AbortSignal | null | undefined): AbortSignal | undefined {
  if (signal === undefined || signal === null) return undefined;
  const like = signal as Partial<AbortSignal>;
  const listens = typeof like.addEventListener === 'function' && typeof like.removeEventListener === 'function';
  if (typeof like.aborted === 'boolean' && listens) return signal;
  throw new RpcError('INVALID_ARGUMENT', 'signal must be an AbortSignal');
}

/**
 * A whole-number flag of a command line (`--prefetch 64`): decimal digits only ("", "1e3", "0x10"
 * and " 5" are refused), from `min` to `max`. `what` names the unit in the error.
 */
export function parseWholeFlag(flag: string, text: string, min: number, max: number, what = 'a whole number'): number {
  const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RpcError('INVALID_ARGUMENT', `${flag} takes ${what} from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** A duration flag of a command line (`--timeout-ms 500`): whole milliseconds, checked as above. */
export function parseDurationFlag(flag: string, text: string, min = 1): number {
  return parseWholeFlag(flag, text, min, MAX_TIMER_MS, 'whole milliseconds');
}

/** A list of broker URLs from text: comma-separated, blanks trimmed and dropped ("a, b" -> [a, b]). */
export function parseUrlList(text: string): string[] {
  return text
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
}
