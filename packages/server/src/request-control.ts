/*
 * When a request's handler should stop: the caller cancelled it (a message on the cancel topic) or
 * its deadline passed. The AbortSignal a handler sees is made only when it asks for it, with the
 * deadline's timer: most handlers never do, and they cost nothing per request.
 */
import { RpcError } from '@stomp-rpc/client';

export class RequestControl {
  readonly #deadline: number;
  #controller: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #reason: RpcError | undefined;

  /** `deadline`: a Date.now() time, Infinity for none. */
  constructor(deadline: number) {
    this.#deadline = deadline;
  }

  /** Aborts when the caller cancels or at the deadline, with an RpcError (ABORTED, DEADLINE_EXCEEDED) as reason. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason) this.#controller.abort(this.#reason);
      else if (Number.isFinite(this.#deadline)) {
        const late = new RpcError('DEADLINE_EXCEEDED', "the caller's deadline passed while the request was handled");
        this.#timer = setTimeout(() => this.abort(late), Math.max(0, this.#deadline - Date.now()));
        this.#timer.unref?.();
      }
    }
    return this.#controller.signal;
  }

  /** Why the request was stopped, if it was. */
  get reason(): RpcError | undefined {
    return this.#reason;
  }

  /** Whether the caller itself gave up (nobody waits for a reply). */
  get cancelled(): boolean {
    return this.#reason?.code === 'ABORTED';
  }

  abort(reason: RpcError): void {
    if (this.#reason) return;
    this.#reason = reason;
    this.dispose();
    this.#controller?.abort(reason);
  }

  /** The request is done: its deadline timer goes. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
