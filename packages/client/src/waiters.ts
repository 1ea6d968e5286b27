/*
 * Callers waiting for one outcome (a connection, a server's subscription): each waits with a
 * deadline of its own, and all are settled together when it comes (resolved), or is refused for
 * good or given up (rejected). A caller that timed out is forgotten: nothing stays attached to a
 * long-lived promise, however often callers wait and give up.
 */
import type { RpcError } from './errors.js';

interface Waiter {
  resolve(): void;
  reject(error: RpcError): void;
}

export class Waiters {
  readonly #waiters = new Set<Waiter>();

  /**
   * Resolves when `settle()` is called without an error; rejects with its error, or with
   * UNAVAILABLE from `timedOut()` when `timeoutMs` passes first.
   */
  wait(timeoutMs: number, timedOut: () => RpcError): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(timedOut());
      }, timeoutMs);
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** Resolves every waiter, or rejects every one with `error`. */
  settle(error?: RpcError): void {
    for (const waiter of this.#waiters) {
      if (error) waiter.reject(error);
      else waiter.resolve();
    }
    this.#waiters.clear();
  }

  get size(): number {
    return this.#waiters.size;
  }
}
