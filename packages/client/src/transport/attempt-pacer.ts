/*
 * When the next connection attempt may go: the first at once, each later one after the delay
 * reconnect-policy.ts gives, and one at once again when the page came back to a dead connection
 * (in a hidden tab the delay's own timer may have been held back for minutes).
 */
import type { Clock } from '../core/clock.js';

export class AttemptPacer {
  readonly #clock: Clock;
  readonly #delayMs: () => number;
  #attempted = false;
  #skipNext = false;
  #wake: (() => void) | undefined;

  constructor(clock: Clock, delayMs: () => number) {
    this.#clock = clock;
    this.#delayMs = delayMs;
  }

  /** Resolves when the next attempt may go. */
  async wait(): Promise<void> {
    if (this.#attempted && !this.#skipNext) {
      await new Promise<void>((resolve) => {
        const timer = this.#clock.setTimeout(resolve, this.#delayMs());
        this.#wake = () => {
          this.#clock.clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#wake = undefined;
    this.#attempted = true;
    this.#skipNext = false;
  }

  /** The next attempt goes without its delay. */
  skipNext(): void {
    this.#skipNext = true;
  }

  /** A wait in progress ends now. */
  wake(): void {
    this.#wake?.();
  }
}
