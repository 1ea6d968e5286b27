import { describe, expect, it } from 'vitest';
import { MAX_ENDED_CALLS, MAX_REPLYING_QUEUES, RecentReplies } from './recent-replies.js';

describe('RecentReplies', () => {
  it('remembers when each queue last replied', () => {
    const replies = new RecentReplies();
    replies.heard('a', 10);
    replies.heard('a', 20);
    expect(replies.lastAt('a')).toBe(20);
    expect(replies.lastAt('b')).toBe(Number.NEGATIVE_INFINITY);
  });

  it(`holds at most ${MAX_REPLYING_QUEUES} queues (one per user, say): the one heard from least recently goes first`, () => {
    const replies = new RecentReplies();
    for (let i = 0; i < MAX_REPLYING_QUEUES; i++) replies.heard(`user-${i}`, i);
    replies.heard('user-0', 5000); // heard again: now the most recent
    replies.heard('one-more', 5001);
    expect(replies.lastAt('user-1')).toBe(Number.NEGATIVE_INFINITY); // forgotten
    expect(replies.lastAt('user-0')).toBe(5000);
    expect(replies.lastAt('one-more')).toBe(5001);
    expect(replies.lastAt(`user-${MAX_REPLYING_QUEUES - 1}`)).toBe(MAX_REPLYING_QUEUES - 1);
  });

  it("a late reply, to a call that ended without one, counts for that call's queue; a reply to no call of ours does not", () => {
    const replies = new RecentReplies();
    replies.ended('c.1', 'q');
    replies.late('c.1', 30);
    replies.late('c.2', 40);
    replies.late(undefined, 50);
    expect(replies.lastAt('q')).toBe(30);
  });

  it(`remembers the queues of at most ${MAX_ENDED_CALLS} ended calls: the oldest goes first`, () => {
    const replies = new RecentReplies();
    for (let i = 0; i <= MAX_ENDED_CALLS; i++) replies.ended(`c.${i}`, `q${i}`);
    replies.late('c.0', 10);
    replies.late('c.1', 20);
    expect(replies.lastAt('q0')).toBe(Number.NEGATIVE_INFINITY);
    expect(replies.lastAt('q1')).toBe(20);
  });
});
