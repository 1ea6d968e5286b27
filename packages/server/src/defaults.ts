/*
 * The server's defaults, in one table: RpcServer, the Fibonacci service and the command line
 * (which shows them in --help) read them here.
 */
export const SERVER_DEFAULTS = {
  /**
   * Requests held at once, unacknowledged. Chosen by measurement (BENCHMARKS.md, "Prefetch"): the
   * tutorial's 1 caps a server at a third of the rate and makes a large n wait in the queue behind
   * every small call; from 32 up the rate is the same within noise, and 128 leaves a server room
   * to keep answering while a large n holds back the cumulative ACK of what came after it.
   */
  prefetch: 128,
  /** Larger request bodies get INVALID_ARGUMENT without being parsed. */
  maxBodyBytes: 4096,
  /**
   * The deadline of a request that carries none (the tutorial's clients send no `expiration`). One
   * that never ended would hold back the cumulative ACK of every request after it, until the
   * broker stopped delivering (ack-window.ts).
   */
  defaultDeadlineMs: 300_000,
  /** Items one streamed reply may have. */
  maxStreamItems: 10_000,
  /**
   * Bytes (UTF-8) of one reply or stream item; a larger one is INTERNAL instead (reply-size.ts).
   * rabbitmq-conf's frame and message limits are 256 KiB: this leaves 8 KiB for the headers.
   */
  maxReplyBytes: 248 * 1024,
  /** Bytes of the items of one streamed reply (as the client's default maxBytes). */
  maxStreamBytes: 16 * 1024 * 1024,
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

/** The largest prefetch: AMQP's `prefetch-count` is 16 bits. */
export const MAX_PREFETCH = 65_535;

/** The presence interval a server accepts besides 0 (never): from a tenth of a second to an hour. */
export const PRESENCE_MS_RANGE = { min: 100, max: 3_600_000 } as const;
