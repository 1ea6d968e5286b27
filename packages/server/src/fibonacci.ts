/**
 * fib(n) exactly, by fast doubling: O(log n) steps of BigInt multiplication, walking the bits of n
 * from the top with a = fib(k), b = fib(k+1) and
 *   fib(2k)   = a * (2b - a)
 *   fib(2k+2) = b * (b + 2a)
 *   fib(2k+1) = fib(2k+2) - fib(2k)  (or a^2 + b^2)
 * Two multiplications a step rather than three; the last step computes only fib(n): one
 * multiplication for even n, two squarings for odd. The last steps, on the largest numbers, cost
 * most of the time.
 */
export function fibonacci(n: number): bigint {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n must be a non-negative safe integer, got ${n}`);
  let a = 0n; // fib(k), k = floor(n / (2 * bit))
  let b = 1n; // fib(k + 1)
  let bit = highestBit(n);
  for (; bit > 1; bit /= 2) {
    const even = a * (2n * b - a); // fib(2k)
    const evenPlusTwo = b * (b + 2n * a); // fib(2k + 2)
    if (Math.floor(n / bit) % 2 === 1) [a, b] = [evenPlusTwo - even, evenPlusTwo];
    else [a, b] = [even, evenPlusTwo - even];
  }
  if (bit === 0) return 0n;
  return n % 2 === 1 ? a * a + b * b : a * (2n * b - a);
}

/** The largest power of two <= n (0 for n = 0); arithmetic rather than bit operators, which stop at 2^31. */
function highestBit(n: number): number {
  let bit = 1;
  while (bit * 2 <= n) bit *= 2;
  return n === 0 ? 0 : bit;
}
