// A burst: `total` calls of fib(n) with at most `concurrency` in flight on the page's one
// client, each call's latency measured from the page. Ends when all calls have ended (success or
// error) or the signal aborts it; it never throws for a failed call, it counts it.

export interface BurstOptions {
  total: number;
  concurrency: number;
  n: string;
  signal: AbortSignal;
  /** One call: resolves when it succeeded, rejects with its error. */
  call: (n: string, signal: AbortSignal) => Promise<unknown>;
  /** Each ended call, as it ends. */
  onCallEnded: (outcome: { latencyMs: number; error?: unknown }) => void;
}

export interface BurstResult {
  succeeded: number;
  failed: number;
  elapsedMs: number;
  aborted: boolean;
}

export async function runBurst(options: BurstOptions): Promise<BurstResult> {
  const { total, concurrency, n, signal, call, onCallEnded } = options;
  const startedAt = performance.now();
  let started = 0;
  let succeeded = 0;
  let failed = 0;

  const lane = async (): Promise<void> => {
    while (started < total && !signal.aborted) {
      started++;
      const callStartedAt = performance.now();
      try {
        await call(n, signal);
        succeeded++;
        onCallEnded({ latencyMs: performance.now() - callStartedAt });
      } catch (error) {
        if (signal.aborted) return;
        failed++;
        onCallEnded({ latencyMs: performance.now() - callStartedAt, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
  return { succeeded, failed, elapsedMs: performance.now() - startedAt, aborted: signal.aborted };
}
