import { RpcError } from '../errors.js';
import { LatencyHistogram, type LatencySnapshot } from '../latency-histogram.js';
import type { ErrorCode } from '../protocol/error-codes.js';

export interface RpcClientStats {
  /** Calls started. */
  calls: number;
  /** Calls that ended with a reply that was not an error (and, through a service client, could be decoded). */
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

/** Each client's counters, for the service layer, which decodes a reply after its client counted it. */
const statsOf = new WeakMap<object, ClientStats>();

/**
 * Decodes a reply `client` has counted as a success; when `decode` throws (a BAD_REPLY: a body the
 * service cannot read), the call is counted as that error instead, as its caller sees it.
 */
export function decodedFor<T>(client: object, decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof RpcError) statsOf.get(client)?.refused(error.code);
    throw error;
  }
}

/** A client's counters. */
export class ClientStats {
  /** The counters of `client`, which decodedFor() finds by it. */
  static of(client: object): ClientStats {
    const stats = new ClientStats();
    statsOf.set(client, stats);
    return stats;
  }

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

  /** A call counted as a success whose reply its caller's decoder then refused: counted as `code`. */
  refused(code: ErrorCode): void {
    this.#counts.succeeded--;
    this.failed(code);
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
