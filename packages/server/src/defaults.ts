/*
 * The server's defaults, in one table: RpcServer, the Fibonacci service and the command line
 * (which shows them in --help) read them here.
 */
export const SERVER_DEFAULTS = {
  /** Requests held at once, unacknowledged: the tutorial's fair dispatch. */
  prefetch: 1,
  /** Larger request bodies get INVALID_ARGUMENT without being parsed. */
  maxBodyBytes: 4096,
  /** How often the server announces itself on the presence topic; 0: never. */
  presenceMs: 2000,
  /** On stop, how long requests in hand may take before they go back to the queue. */
  graceMs: 10_000,
  /** How long start() waits for the broker to confirm the subscription. */
  startTimeoutMs: 30_000,
  /** Largest n served. */
  maxN: 1_000_000,
  /** n up to this is computed inline even with a worker pool. */
  inlineMaxN: 20_000,
  /** Bytes of decimal replies kept for repeated n. */
  cacheBytes: 32 * 1024 * 1024,
} as const;
