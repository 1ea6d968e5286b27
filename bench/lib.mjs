// Shared by the bench processes: the request every scenario sends, timing helpers, CPU readings.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Every throughput call asks for fib(30), the tutorial's example; its answer is 832040. */
export const N = 30;
export const ANSWER = '832040';

/** fib(n) in decimal for the peers' servers: a plain loop, as cheap as ours for n = 30. */
export function fibDecimal(n) {
  let a = 0n;
  let b = 1n;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a.toString();
}

/** Value at quantile q (0..1) of sorted numbers (nearest rank). */
export function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** A number for a table: grouped, with `digits` decimals; n/a when missing. */
export const fmt = (value, digits = 0) =>
  value === null || value === undefined || Number.isNaN(value)
    ? 'n/a'
    : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function median(values) {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

/** Linux clock ticks per second for /proc/<pid>/stat (USER_HZ, 100 on every mainstream kernel). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system, all threads) a process has used so far; undefined when unreadable. */
export function cpuSeconds(pid) {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at state, field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Rejects after `ms` unless `promise` settles first; the timer never outlives it. */
export function withTimeout(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for a child to exit, killing it (it is ours) when it does not within `ms`. */
export function exited(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Every window of calls stops by itself at this many calls or this many failures. */
export const MAX_CALLS_PER_WINDOW = 1_000_000;
export const MAX_ERRORS_PER_WINDOW = 100;

/**
 * Keeps `level` calls in flight until `durationMs` passes; latencies in ms. `answered` counts the
 * calls answered within the window: one call hanging past it (to its deadline) must not stretch
 * the time a rate is divided by. `seconds` is the whole run, tail included, for the CPU it used.
 */
export async function drive(call, level, durationMs) {
  const latencies = [];
  let answered = 0;
  let errors = 0;
  let lastError;
  const endAt = performance.now() + durationMs;
  const loop = async () => {
    while (performance.now() < endAt && latencies.length < MAX_CALLS_PER_WINDOW && errors < MAX_ERRORS_PER_WINDOW) {
      const startedAt = performance.now();
      try {
        await call();
        const endedAt = performance.now();
        latencies.push(endedAt - startedAt);
        if (endedAt <= endAt) answered++;
      } catch (error) {
        errors++;
        lastError = error;
      }
    }
  };
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: level }, loop));
  const seconds = (performance.now() - startedAt) / 1000;
  if (errors >= MAX_ERRORS_PER_WINDOW) throw new Error(`${errors} calls failed; last: ${lastError?.message}`);
  // The window is cut short only by MAX_CALLS_PER_WINDOW: then the rate is over the time it took.
  const perSecond = answered / Math.min(seconds, durationMs / 1000);
  return { latencies, answered, errors, seconds, perSecond };
}
