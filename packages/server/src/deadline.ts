/*
 * Deadlines arrive as Date.now() times (RpcRequest.deadline is one), but the server waits for them
 * on the monotonic clock: a step of the system clock (NTP setting it, a virtual machine resumed)
 * must neither give a request in hand an hour more, holding back the ACK of everything after it,
 * nor take its time away.
 */

/** `deadline` (a Date.now() time, or Infinity) as a performance.now() time, read once, now. */
export function monotonicDue(deadline: number): number {
  return Number.isFinite(deadline) ? performance.now() + (deadline - Date.now()) : deadline;
}
