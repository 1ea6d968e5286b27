import { describe, expect, it } from 'vitest';
import { encodeN } from './fibonacci.js';

const messageOf = (n: unknown) => {
  try {
    encodeN(n as number);
    return 'none';
  } catch (error) {
    return `${(error as { code?: string }).code}: ${(error as Error).message}`;
  }
};

describe('encodeN', () => {
  it('takes a non-negative integer as a safe number, a bigint or decimal digits, as the wire carries it', () => {
    expect([encodeN(0), encodeN(90), encodeN(2n ** 64n), encodeN('12')]).toEqual([
      '0',
      '90',
      '18446744073709551616',
      '12',
    ]);
  });

  // Regression: `[5]` was "got 5", and 2^53 + 2 was refused as not "a non-negative integer", which it is.
  it('says what is wrong: the value, or its type where String() would hide it, and a number past 2^53 as unsafe', () => {
    expect(messageOf(-1)).toBe('INVALID_ARGUMENT: n must be a non-negative integer, got -1');
    expect(messageOf(1.5)).toBe('INVALID_ARGUMENT: n must be a non-negative integer, got 1.5');
    expect(messageOf('1e3')).toBe('INVALID_ARGUMENT: n must be a non-negative integer, got "1e3"');
    expect(messageOf([5])).toBe('INVALID_ARGUMENT: n must be a non-negative integer, got a value of type array');
    expect(messageOf(null)).toBe('INVALID_ARGUMENT: n must be a non-negative integer, got a value of type null');
    expect(messageOf(Number.MAX_SAFE_INTEGER + 2)).toBe(
      'INVALID_ARGUMENT: n must be a safe integer (a bigint or a string beyond), got 9007199254740992',
    );
  });
});
