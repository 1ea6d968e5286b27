import { describe, expect, it } from 'vitest';
import { foldDigits, formatDigits, formatMs } from './format.js';

describe('format', () => {
  it('foldDigits - keeps short numbers whole and counts their digits', () => {
    expect(foldDigits('832040')).toEqual({ digits: 6, shown: '832040', folded: false });
  });

  it('foldDigits - folds long numbers to their edges around an ellipsis', () => {
    const long = `123${'0'.repeat(100)}789`;
    expect(foldDigits(long, 3)).toEqual({ digits: 106, shown: '123…789', folded: true });
  });

  it('formatMs - about three significant digits, seconds from 1000 ms', () => {
    expect([0.4213, 4.213, 42.13, 421.3, 4213].map(formatMs)).toEqual([
      '0.42 ms',
      '4.21 ms',
      '42.1 ms',
      '421 ms',
      '4.21 s',
    ]);
  });

  it('formatMs - a value that rounds up to the next form is shown in it: 999.6 is 1.00 s, not 1000 ms', () => {
    expect([9.996, 99.96, 999.6, 9.994, 99.94, 999.4].map(formatMs)).toEqual([
      '10.0 ms',
      '100 ms',
      '1.00 s',
      '9.99 ms',
      '99.9 ms',
      '999 ms',
    ]);
  });

  it('formatDigits - singular and thousands separators', () => {
    expect(formatDigits(1)).toBe('1 digit');
    expect(formatDigits(208988)).toBe('208,988 digits');
  });
});
