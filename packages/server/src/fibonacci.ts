/**
 * fib(n) exactly, by fast doubling: O(log n) steps of BigInt multiplication, using
 *   fib(2k)   = fib(k) * (2 * fib(k+1) - fib(k))
 *   fib(2k+1) = fib(k)^2 + fib(k+1)^2
 * walking the bits of n from the top. fib(0) = 0, fib(1) = 1.
 */
export function fibonacci(n: number): bigint {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n must be a non-negative safe integer, got ${n}`);
  let current = 0n; // fib(k)
  let next = 1n; // fib(k + 1)
  for (let bit = highestBit(n); bit > 0; bit = Math.floor(bit / 2)) {
    const double = current * (2n * next - current);
    const doublePlusOne = current * current + next * next;
    if (n >= bit && Math.floor(n / bit) % 2 === 1) {
      current = doublePlusOne;
      next = double + doublePlusOne;
    } else {
      current = double;
      next = doublePlusOne;
    }
  }
  return current;
}

/** The largest power of two <= n (0 for n = 0); arithmetic rather than bit operators, which stop at 2^31. */
function highestBit(n: number): number {
  let bit = 1;
  while (bit * 2 <= n) bit *= 2;
  return n === 0 ? 0 : bit;
}
