import { RpcError } from '../errors.js';
import { LatencyHistogram, type LatencySnapshot } from '../latency-histogram.js';
import type { ErrorCode } from '../protocol/error-codes.js';

export interface RpcClientStats {
  /** Calls started. */
  calls: number;
  /** Calls that ended with a reply that was not an error. */
  succeeded: number;
  /** Calls that ended with an error, by code. */
  errors: Partial<Record<ErrorCode, number>>;
  /** Replies whose correlation-id matched no pending call (late, duplicate or foreign). */
  droppedReplies: number;
  /** Idempotent requests sent again: after a reconnect, or when the broker did not confirm them. */
  resent: number;
  reconnects: number;
  /** Calls waiting for a reply or for the connection right now. */
  pending: number;
  /** Time from call to reply, for calls that got one (including error replies). */
  latency: LatencySnapshot;
}

/** A client's counters. */
export class ClientStats {
  readonly #counts = { calls: 0, succeeded: 0, droppedReplies: 0, resent: 0 };
  readonly #errors: Partial<Record<ErrorCode, number>> = {};
  readonly #latency = new LatencyHistogram();

  called(): void {
    this.#counts.calls++;
  }

  /** A call ended, with a reply that was not an error or with the error. */
  ended(outcome: unknown): void {
    if (outcome instanceof RpcError) this.failed(outcome.code);
    else this.#counts.succeeded++;
  }

  failed(code: ErrorCode): void {
    this.#errors[code] = (this.#errors[code] ?? 0) + 1;
  }

  replied(latencyMs: number): void {
    this.#latency.record(latencyMs);
  }

  droppedReply(): void {
    this.#counts.droppedReplies++;
  }

  resent(): void {
    this.#counts.resent++;
  }

  snapshot(pending: number, reconnects: number): RpcClientStats {
    return { ...this.#counts, errors: { ...this.#errors }, reconnects, pending, latency: this.#latency.snapshot() };
  }
}
