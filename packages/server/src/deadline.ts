/*
 * A request's deadline arrives as a Date.now() time (RpcRequest.deadline is one). The server ends
 * the work at whichever comes first: that time on the system clock, or the same span on the
 * monotonic clock. A step of the system clock back (NTP correcting it) must not give a request in
 * hand an hour more, holding back the ACK of everything after it; a jump forward is most often a
 * machine resumed from sleep, which the monotonic clock does not count, and then the caller's time
 * really has run out.
 */
export class Deadline {
  readonly #wall: number;
  readonly #monotonic: number;

  /** `deadline`: a Date.now() time, Infinity for none. */
  constructor(deadline: number) {
    this.#wall = deadline;
    this.#monotonic = Number.isFinite(deadline) ? performance.now() + (deadline - Date.now()) : deadline;
  }

  get finite(): boolean {
    return Number.isFinite(this.#wall);
  }

  /** The time left by the clock that says less, in ms; 0 once either has passed it. */
  remainingMs(): number {
    return Math.max(0, Math.min(this.#wall - Date.now(), this.#monotonic - performance.now()));
  }

  passed(): boolean {
    return this.remainingMs() === 0;
  }
}
