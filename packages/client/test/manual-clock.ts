/*
 * A Clock for unit tests: time stands still until the test moves it. advance(ms) fires every timer
 * that falls due on the way, in order of due time (then of creation), each at its own due time,
 * including timers set by those callbacks. stall(ms) moves time without firing anything, as a
 * blocked event loop does: the overdue timers then fire late, on the next advance().
 */
import type { Clock, Timer } from '../src/core/clock.js';

export class ManualClock implements Clock {
  #now: number;
  #wallOffset = 0;
  #nextId = 1;
  readonly #timers = new Map<number, { due: number; callback: () => void }>();

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now + this.#wallOffset;
  }

  /**
   * Sets the clock `now()` reads by `ms` (back when negative) without moving the timers, which
   * run on their own: as a time sync or a restored VM sets the system clock under Date.now().
   */
  setWallClock(ms: number): void {
    this.#wallOffset += ms;
  }

  setTimeout(callback: () => void, ms: number): Timer {
    const id = this.#nextId++;
    this.#timers.set(id, { due: this.#now + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(timer: Timer): void {
    if (typeof timer === 'number') this.#timers.delete(timer);
  }

  /** Timers set and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time on by `ms`, firing the timers that fall due meanwhile. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (let next = this.#firstDue(end); next !== undefined; next = this.#firstDue(end)) {
      const [id, timer] = next;
      this.#timers.delete(id);
      this.#now = Math.max(this.#now, timer.due);
      timer.callback();
    }
    this.#now = end;
  }

  /** Moves time on by `ms` without firing timers; they fire late on the next advance(). */
  stall(ms: number): void {
    this.#now += ms;
  }

  #firstDue(end: number): [number, { due: number; callback: () => void }] | undefined {
    let first: [number, { due: number; callback: () => void }] | undefined;
    for (const entry of this.#timers) {
      if (entry[1].due <= end && (first === undefined || entry[1].due < first[1].due)) first = entry;
    }
    return first;
  }
}
