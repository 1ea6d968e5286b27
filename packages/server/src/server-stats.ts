import { LatencyHistogram } from '@stomp-rpc/client/internal';
import type { ErrorCode, ProcedureStats, ServerStats } from '@stomp-rpc/client/protocol';

/** A server's counters, in the style of NATS service stats; announced with presence. */
export class ServerStatsCounter {
  readonly #counts = { requests: 0, succeeded: 0, dropped: 0, cancelled: 0 };
  /** By procedure name; only the service's own names get here, so the map stays small. */
  readonly #procedures = new Map<string, ProcedureStats>();
  readonly #errors: Partial<Record<ErrorCode, number>> = {};
  readonly #latency = new LatencyHistogram();
  #lastError: ServerStats['lastError'];

  received(): void {
    this.#counts.requests++;
  }

  /** A request went back to the broker unanswered (stop, or its connection died): the broker delivers it again. */
  givenBack(): void {
    this.#counts.requests--;
  }

  dropped(): void {
    this.#counts.dropped++;
  }

  /** The caller gave up on a request, which was stopped and not answered. */
  cancelled(procedure?: string): void {
    this.#counts.cancelled++;
    if (procedure !== undefined) this.#procedure(procedure).cancelled++;
  }

  /** A reply went out: a success when `code` is undefined. */
  answered(processingMs: number, code: ErrorCode | undefined, message: string, procedure?: string): void {
    this.#latency.record(processingMs);
    if (procedure !== undefined) {
      const stats = this.#procedure(procedure);
      stats.requests++;
      stats.processingMs += processingMs;
      if (code === undefined) stats.succeeded++;
      else stats.errors[code] = (stats.errors[code] ?? 0) + 1;
    }
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
      ...(this.#procedures.size > 0 ? { procedures: this.#proceduresSnapshot() } : {}),
    };
  }

  #procedure(name: string): ProcedureStats {
    let stats = this.#procedures.get(name);
    if (stats === undefined) {
      stats = { requests: 0, succeeded: 0, errors: {}, cancelled: 0, processingMs: 0 };
      this.#procedures.set(name, stats);
    }
    return stats;
  }

  #proceduresSnapshot(): Record<string, ProcedureStats> {
    // No prototype: a procedure named __proto__ is a key like any other, not the object's prototype.
    const snapshot: Record<string, ProcedureStats> = Object.create(null);
    for (const [name, stats] of this.#procedures) snapshot[name] = { ...stats, errors: { ...stats.errors } };
    return snapshot;
  }
}
