/*
 * Replies the broker confirmed, before their requests are acknowledged: for a replicated (quorum)
 * queue on a cluster. There a reply and the ACK that follows it take different ways: the ACK to the
 * queue's leader, which keeps it once a second node has it, the reply to the caller's reply queue,
 * maybe on a third node. A node that dies between them can lose the reply while the ACK is kept, and
 * the caller, on a node that lives, waits out its deadline for a request nobody will answer again
 * (seen in CI once in about 85 kills of the leader's node). With a `receipt` on the reply, the
 * request is acknowledged only once the broker holds the reply: dying before that, the node takes
 * the unacknowledged request with it, and the broker hands it to another server.
 */

/** How long a reply may go unconfirmed; then its request is acknowledged anyway (and it is logged). */
export const REPLY_CONFIRM_WAIT_MS = 10_000;

export class ReplyConfirmations {
  /** By receipt id: settles the wait with whether the RECEIPT came. */
  readonly #waiting = new Map<string, (confirmed: boolean) => void>();
  #next = 0;
  readonly #late: () => void;

  /** `late` hears of each reply still unconfirmed after REPLY_CONFIRM_WAIT_MS. */
  constructor(late: () => void) {
    this.#late = late;
  }

  /**
   * A receipt id for a reply about to go, and what comes of it: true when its RECEIPT came; false
   * when the connection went first (reset) or after REPLY_CONFIRM_WAIT_MS.
   */
  expect(): { receiptId: string; confirmed: Promise<boolean> } {
    const receiptId = `reply-${++this.#next}`;
    const confirmed = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        settle(false);
        this.#late();
      }, REPLY_CONFIRM_WAIT_MS);
      const settle = (confirmed: boolean) => {
        clearTimeout(timer);
        this.#waiting.delete(receiptId);
        resolve(confirmed);
      };
      this.#waiting.set(receiptId, settle);
    });
    return { receiptId, confirmed };
  }

  /** A RECEIPT came; false when it was not one of these. */
  receipt(receiptId: string): boolean {
    const settle = this.#waiting.get(receiptId);
    settle?.(true);
    return settle !== undefined;
  }

  /** The connection is gone (or the server stopped): the RECEIPTs awaited will not come. */
  reset(): void {
    for (const settle of [...this.#waiting.values()]) settle(false);
  }
}
