/** Time and timers, injected so that the parts that hold no socket can be tested with a manual clock. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): Timer;
  clearTimeout(timer: Timer): void;
}

/** A timer handle, whatever the runtime's setTimeout returns. */
export type Timer = unknown;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout> | undefined),
};

/** Waits on a clock that can all be cut short at once (a client closing), so that no timer outlives it. */
export class Sleeps {
  readonly #clock: Clock;
  readonly #wakes = new Set<() => void>();
  #over = false;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Resolves after `ms`, or at once when wakeAll() was called before or meanwhile. */
  sleep(ms: number): Promise<void> {
    if (this.#over) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = () => {
        this.#clock.clearTimeout(timer);
        this.#wakes.delete(wake);
        resolve();
      };
      const timer = this.#clock.setTimeout(wake, ms);
      this.#wakes.add(wake);
    });
  }

  /** Ends every sleep now and every later one at once. */
  wakeAll(): void {
    this.#over = true;
    for (const wake of [...this.#wakes]) wake();
  }
}
