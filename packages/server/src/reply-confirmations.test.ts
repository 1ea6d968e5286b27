import { afterEach, describe, expect, it, vi } from 'vitest';
import { REPLY_CONFIRM_WAIT_MS, ReplyConfirmations } from './reply-confirmations.js';

describe('ReplyConfirmations', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a reply is confirmed by its own RECEIPT only; an unknown one is not taken', async () => {
    const confirmations = new ReplyConfirmations(() => {});
    const [first, second] = [confirmations.expect(), confirmations.expect()];
    expect(first.receiptId).not.toBe(second.receiptId);
    expect(confirmations.receipt('disconnect')).toBe(false);
    expect(confirmations.receipt(second.receiptId)).toBe(true);
    expect(await second.confirmed).toBe(true);
    expect(confirmations.receipt(second.receiptId)).toBe(false); // once
    confirmations.reset();
    expect(await first.confirmed).toBe(false);
  });

  it(`a RECEIPT that does not come within ${REPLY_CONFIRM_WAIT_MS} ms ends the wait, and says so; nothing is left behind`, async () => {
    vi.useFakeTimers();
    let late = 0;
    const confirmations = new ReplyConfirmations(() => late++);
    const { confirmed } = confirmations.expect();
    await vi.advanceTimersByTimeAsync(REPLY_CONFIRM_WAIT_MS - 1);
    expect(late).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await confirmed).toBe(false);
    expect(late).toBe(1);
    confirmations.expect();
    confirmations.reset(); // the connection went: no timer outlives it, and that is not late
    expect(vi.getTimerCount()).toBe(0);
    expect(late).toBe(1);
  });
});
