/*
 * When a request's handler should stop: the caller cancelled it (a message on the cancel topic) or
 * its deadline passed. The AbortSignal a handler sees is made only when it asks for it: most
 * handlers never do, and an AbortController with a listener costs several µs per request.
 *
 * A handler that ignores its signal must not hold its request past the stop either: the server
 * awaits it (and a stream's next item) through `within()`, which ends at the stop. Otherwise one
 * stuck request would hold back the cumulative ACK of everything after it (ack-window.ts).
 */
import { RpcError } from '@stomp-rpc/client';
import { MAX_TIMER_MS } from '@stomp-rpc/client/internal';
import { Deadline } from './deadline.js';

export class RequestControl {
  readonly #deadline: Deadline;
  #controller: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #reason: RpcError | undefined;
  /** Rejects the `within()` under way, if any. */
  #interrupt: ((reason: RpcError) => void) | undefined;

  /** `deadline`: a Date.now() time, Infinity for none. */
  constructor(deadline: number) {
    this.#deadline = new Deadline(deadline);
  }

  /**
   * Aborts when the caller cancels or at the deadline, with an RpcError (ABORTED, DEADLINE_EXCEEDED)
   * as reason; the server also aborts it when the request goes back to the broker (CONNECTION_LOST, CLOSED).
   */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.reason) this.#controller.abort(this.#reason);
      else this.#armDeadline();
    }
    return this.#controller.signal;
  }

  /** Why the request was stopped, if it was; a deadline that passed counts even without a timer. */
  get reason(): RpcError | undefined {
    if (this.#reason === undefined && this.#deadline.passed()) this.abort(deadlineExceeded());
    return this.#reason;
  }

  /** Whether the caller itself gave up (nobody waits for a reply). */
  get cancelled(): boolean {
    return this.#reason?.code === 'ABORTED';
  }

  /** `work`'s outcome, or a rejection with the reason as soon as the request is stopped. */
  within<T>(work: Promise<T>): Promise<T> {
    const stopped = this.reason;
    if (stopped) {
      // Nobody reads `work` now (the stop may have made it reject: an aborted wait in a stream's
      // producer), and a rejection nobody handles would end the process.
      work.catch(() => {});
      return Promise.reject(stopped);
    }
    this.#armDeadline();
    return new Promise<T>((resolve, reject) => {
      this.#interrupt = reject;
      work.then(resolve, reject).finally(() => {
        if (this.#interrupt === reject) this.#interrupt = undefined;
      });
    });
  }

  abort(reason: RpcError): void {
    if (this.#reason) return;
    this.#reason = reason;
    this.dispose();
    this.#controller?.abort(reason);
    this.#interrupt?.(reason);
  }

  /** The request is done: its deadline timer goes. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One timer for the deadline, shared by the signal and within(); re-armed past a timer's limit. */
  #armDeadline(): void {
    if (this.#timer !== undefined || this.#reason || !this.#deadline.finite) return;
    const waitMs = Math.min(this.#deadline.remainingMs(), MAX_TIMER_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.reason === undefined) this.#armDeadline(); // a deadline beyond MAX_TIMER_MS
    }, waitMs);
    this.#timer.unref?.();
  }
}

function deadlineExceeded(): RpcError {
  return new RpcError(
    'DEADLINE_EXCEEDED',
    "the deadline passed while the request was handled (the caller's, or the server's defaultDeadlineMs for a request without one)",
  );
}
