import { LatencyHistogram } from '@stomp-rpc/client/internal';
import type { ErrorCode, ServerStats } from '@stomp-rpc/client/protocol';

/** A server's counters, in the style of NATS service stats; announced with presence. */
export class ServerStatsCounter {
  readonly #counts = { requests: 0, succeeded: 0, dropped: 0 };
  readonly #errors: Partial<Record<ErrorCode, number>> = {};
  readonly #latency = new LatencyHistogram();
  #lastError: ServerStats['lastError'];

  received(): void {
    this.#counts.requests++;
  }

  dropped(): void {
    this.#counts.dropped++;
  }

  /** A reply went out: a success when `code` is undefined. */
  answered(processingMs: number, code: ErrorCode | undefined, message: string): void {
    this.#latency.record(processingMs);
    if (code === undefined) {
      this.#counts.succeeded++;
      return;
    }
    this.#errors[code] = (this.#errors[code] ?? 0) + 1;
    this.#lastError = { code, message: message.slice(0, 500), at: new Date().toISOString() };
  }

  snapshot(): ServerStats {
    const latency = this.#latency.snapshot();
    return {
      ...this.#counts,
      errors: { ...this.#errors },
      processingMs: { total: latency.sumMs, average: latency.count === 0 ? 0 : latency.sumMs / latency.count },
      latency,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }
}
