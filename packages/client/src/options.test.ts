import { describe, expect, it } from 'vitest';
import { isRpcError } from './errors.js';
import { checkMs, parseDurationFlag, parseUrlList, parseWholeFlag, utf8Length } from './options.js';

describe('options', () => {
  it('utf8Length - counts the bytes TextEncoder writes: 1 to 4 a character, a lone surrogate as U+FFFD', () => {
    const encoder = new TextEncoder();
    for (const text of ['', 'abc', 'é', '€', '😀', 'a\ud800b', '\udc00', 'x:é€😀\n'.repeat(1000)]) {
      expect(utf8Length(text), JSON.stringify(text.slice(0, 12))).toBe(encoder.encode(text).length);
    }
  });

  it('checkMs - takes finite ms from the minimum to 2^31-1, and refuses the rest with INVALID_ARGUMENT', () => {
    expect(checkMs(1, 'timeoutMs')).toBe(1);
    expect(checkMs(0, 'discoveryMs', 0)).toBe(0);
    expect(checkMs(2 ** 31 - 1, 'timeoutMs')).toBe(2 ** 31 - 1);
    for (const bad of [0, -1, 2 ** 31, Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = (() => {
        try {
          checkMs(bad, 'timeoutMs');
        } catch (thrown) {
          return thrown;
        }
      })();
      expect(isRpcError(error) && error.code, String(bad)).toBe('INVALID_ARGUMENT');
    }
  });

  it('parseDurationFlag - whole milliseconds in decimal only, named by the flag', () => {
    expect(parseDurationFlag('--timeout-ms', '500')).toBe(500);
    expect(parseDurationFlag('--grace-ms', '0', 0)).toBe(0);
    for (const bad of ['0', '-5', '1.5', '1e3', '', ' 5', 'abc', '2147483648']) {
      expect(() => parseDurationFlag('--timeout-ms', bad), JSON.stringify(bad)).toThrow(
        `--timeout-ms takes whole milliseconds from 1 to 2147483647, got ${JSON.stringify(bad)}`,
      );
    }
  });

  it('parseWholeFlag - digits only, within the bounds given', () => {
    expect(parseWholeFlag('--prefetch', '64', 1, 65_535)).toBe(64);
    expect(parseWholeFlag('--metrics-port', '0', 0, 65_535)).toBe(0);
    for (const bad of ['0', '65536', '-1', '1.0', '0x10', '1e3', '', ' 5', '99999999999999999999']) {
      expect(() => parseWholeFlag('--prefetch', bad, 1, 65_535), JSON.stringify(bad)).toThrow(
        `--prefetch takes a whole number from 1 to 65535, got ${JSON.stringify(bad)}`,
      );
    }
  });

  it('parseUrlList - splits on commas, trims, drops blanks', () => {
    expect(parseUrlList('ws://a/ws, ws://b/ws,,  ')).toEqual(['ws://a/ws', 'ws://b/ws']);
    expect(parseUrlList('ws://a/ws')).toEqual(['ws://a/ws']);
    expect(parseUrlList('')).toEqual([]);
  });
});
