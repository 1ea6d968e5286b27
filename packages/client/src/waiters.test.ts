import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RpcError } from './errors.js';
import { Waiters } from './waiters.js';

describe('Waiters', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const unavailable = () => new RpcError('UNAVAILABLE', 'not connected in time');

  it('waiters - all resolve together when the connection is made, and their timers go', async () => {
    const waiters = new Waiters();
    const first = waiters.wait(1000, unavailable);
    const second = waiters.wait(5000, unavailable);
    waiters.settle();
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    expect(waiters.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('waiters - all reject with the error that ended the wait (a refused login, close)', async () => {
    const waiters = new Waiters();
    const waiting = waiters.wait(1000, unavailable);
    waiters.settle(new RpcError('CLOSED', 'the connection was closed'));
    await expect(waiting).rejects.toMatchObject({ code: 'CLOSED' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('waiters - one whose time runs out rejects alone with its own error and is forgotten', async () => {
    const waiters = new Waiters();
    const short = waiters.wait(1000, unavailable);
    const long = waiters.wait(5000, unavailable);
    vi.advanceTimersByTime(1000);
    await expect(short).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'not connected in time' });
    expect(waiters.size).toBe(1);
    waiters.settle();
    await expect(long).resolves.toBeUndefined();
  });
});
