/*
 * What the client sends so that Web-STOMP keeps an idle connection open, and how it notices that
 * it has been silent for too long.
 *
 * Web-STOMP closes a connection it hears nothing from for 60 s, heart-beats from the broker
 * notwithstanding, and the client sends none of its own (see stomp-connection.ts). So a bare
 * end-of-line goes out every `intervalMs` from a timer. Timers are not enough in a browser tab:
 * Chrome runs a chained timer (a repeating one after its fifth run) at most once a minute in a tab
 * hidden for five minutes, and not at all in a frozen one, while WebSocket messages are still
 * delivered at once. So every incoming heart-beat (or other frame) is answered with an
 * end-of-line too when nothing went out for `intervalMs`: as long as the broker sends heart-beats,
 * the connection stays open without any timer.
 *
 * Silence can still happen: a frozen page, a machine that slept, an event loop blocked for a
 * minute. A connection silent for `presumedClosedAfterMs` has most likely been closed by the broker
 * even though its socket still looks open (the close may not have reached the page yet, or a TCP
 * connection across a sleep is half-open), and a request sent on it would be lost. When the timer,
 * a `check()` or a frame about to go out (`reportIfLapsed()`) finds such a silence, it reports
 * `lapsed` instead, so the connection is replaced before anything is sent on it.
 */
import type { Clock, Timer } from '../core/clock.js';

/** Web-STOMP's idle timeout (60 s) less a margin for the last end-of-line still in transit. */
export const PRESUMED_CLOSED_AFTER_MS = 55_000;

export interface KeepaliveEvents {
  /** Write one end-of-line to the socket. */
  send(): void;
  /** Nothing went out for `silentMs`: the broker has most likely closed the connection. */
  lapsed(silentMs: number): void;
}

export class Keepalive {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #presumedClosedAfterMs: number;
  readonly #events: KeepaliveEvents;
  #timer: Timer | undefined;
  #running = false;
  #lastSentAt = 0;

  /** `intervalMs` 0 turns it off. A longer interval than the broker's idle timeout moves the limit. */
  constructor(clock: Clock, intervalMs: number, events: KeepaliveEvents) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#presumedClosedAfterMs = Math.max(PRESUMED_CLOSED_AFTER_MS, 2 * intervalMs);
    this.#events = events;
  }

  /** A connection was made (which counts as traffic): start the timer. */
  start(): void {
    this.stop();
    if (this.#intervalMs === 0) return;
    this.#running = true;
    this.#lastSentAt = this.#clock.now();
    this.#schedule();
  }

  /** The connection ended or is being closed. */
  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** A frame went out: that is traffic too. */
  sent(): void {
    if (this.#running) this.#lastSentAt = this.#clock.now();
  }

  /**
   * A heart-beat or frame came in: answer with an end-of-line when nothing went out for
   * `intervalMs`, or report `lapsed` after a silence too long (a page unfrozen reads the heart-beats
   * that waited before its own code runs: an answer would make the dead connection look alive).
   */
  heard(): void {
    if (!this.#running || this.#clock.now() - this.#lastSentAt < this.#intervalMs) return;
    if (!this.reportIfLapsed()) this.#send();
  }

  /**
   * The page came back (visible, resumed, online): send an end-of-line at once, or report `lapsed`
   * when the connection was silent too long to be trusted.
   */
  check(): void {
    if (!this.#running) return;
    if (!this.reportIfLapsed()) this.#send();
  }

  /**
   * Before a frame goes out: reports `lapsed` and returns true when the connection was silent too
   * long to be trusted. The page's own code may run first when it comes back, before check().
   */
  reportIfLapsed(): boolean {
    const silentMs = this.silentForMs;
    if (silentMs < this.#presumedClosedAfterMs) return false;
    this.stop();
    this.#events.lapsed(silentMs);
    return true;
  }

  /** How long nothing went out. */
  get silentForMs(): number {
    return this.#running ? this.#clock.now() - this.#lastSentAt : 0;
  }

  #schedule(): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      if (!this.#running || this.reportIfLapsed()) return;
      this.#send();
      this.#schedule();
    }, this.#intervalMs);
  }

  #send(): void {
    this.#lastSentAt = this.#clock.now();
    this.#events.send();
  }
}
