export const N: number;
export const ANSWER: string;
export function fibDecimal(n: number): string;
export function quantile(sorted: readonly number[], q: number): number;
export function fmt(value: number | null | undefined, digits?: number): string;
export function median(values: readonly number[]): number;
export function cpuSeconds(pid: number | undefined): number | undefined;
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T>;
export function sleep(ms: number): Promise<void>;
export function exited(child: import('node:child_process').ChildProcess, ms: number): Promise<void>;
export const MAX_CALLS_PER_WINDOW: number;
export const MAX_ERRORS_PER_WINDOW: number;
export interface Window {
  /** Each answered call's latency, ms, the window's tail included. */
  latencies: number[];
  /** Calls answered within the window. */
  answered: number;
  errors: number;
  /** The whole run, tail included. */
  seconds: number;
  /** Calls answered within the window, per second of the window. */
  perSecond: number;
}
export function drive(call: () => Promise<unknown>, level: number, durationMs: number): Promise<Window>;
