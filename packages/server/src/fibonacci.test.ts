import { describe, expect, it } from 'vitest';
import { fibonacci } from './fibonacci.js';

function slowFibonacci(n: number): bigint {
  let [current, next] = [0n, 1n];
  for (let i = 0; i < n; i++) [current, next] = [next, current + next];
  return current;
}

describe('fibonacci', () => {
  it('starts 0, 1, 1, 2, 3, 5, 8', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map(fibonacci)).toEqual([0n, 1n, 1n, 2n, 3n, 5n, 8n]);
  });

  it('matches the iterative definition for every n up to 600', () => {
    for (let n = 0; n <= 600; n++) expect(fibonacci(n)).toBe(slowFibonacci(n));
  });

  it('is exact beyond 2^53: fib(30), fib(90), fib(100)', () => {
    expect(fibonacci(30)).toBe(832040n);
    expect(fibonacci(90)).toBe(2880067194370816120n);
    expect(fibonacci(100)).toBe(354224848179261915075n);
  });

  it('gives fib(1000) with 209 digits', () => {
    const digits = fibonacci(1000).toString();
    expect(digits).toHaveLength(209);
    expect(digits).toBe(
      '43466557686937456435688527675040625802564660517371780402481729089536555417949051890403879840079255169295922593080322634775209689623239873322471161642996440906533187938298969649928516003704476137795166849228875',
    );
  });

  it('satisfies fib(m+n) = fib(m)fib(n+1) + fib(m-1)fib(n) at large n, for m+n even and odd', () => {
    for (const [m, n] of [
      [70_001, 65_537],
      [70_001, 65_536],
    ] as const) {
      expect(fibonacci(m + n)).toBe(fibonacci(m) * fibonacci(n + 1) + fibonacci(m - 1) * fibonacci(n));
    }
  });

  it('refuses negative, fractional and unsafe n', () => {
    for (const n of [-1, 1.5, Number.NaN, 2 ** 53]) expect(() => fibonacci(n)).toThrow(RangeError);
  });
});
