// Pure helpers for showing results and timings; unit-tested in format.test.ts.

export interface FoldedNumber {
  digits: number;
  /** The whole number when it is short, else its first and last digits around an ellipsis. */
  shown: string;
  folded: boolean;
}

/** Folds a long decimal number to `edgeDigits` digits on each side of an ellipsis. */
export function foldDigits(decimal: string, edgeDigits = 24): FoldedNumber {
  const digits = decimal.length;
  if (digits <= edgeDigits * 2 + 8) return { digits, shown: decimal, folded: false };
  return { digits, shown: `${decimal.slice(0, edgeDigits)}…${decimal.slice(-edgeDigits)}`, folded: true };
}

/** "0.42 ms", "4.2 ms", "42 ms", "4.20 s": about three significant digits. */
export function formatMs(ms: number): string {
  // Each form is chosen by the value as it would show: 999.6 is "1.00 s", not "1000 ms".
  if (Number(ms.toFixed(0)) >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (Number(ms.toFixed(1)) >= 100) return `${Math.round(ms)} ms`;
  if (Number(ms.toFixed(2)) >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** "1 digit", "832 digits", "208,988 digits". */
export function formatDigits(digits: number): string {
  return `${digits.toLocaleString('en-US')} ${digits === 1 ? 'digit' : 'digits'}`;
}
