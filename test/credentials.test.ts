// Credentials from a function called before every connection attempt (issue 16, expiring tokens),
// against the broker's real login check. RabbitMQ's OAuth 2.0 backend is not set up here: a
// refused password stands in for an expired token (see the closing note of issue 16).
import { describe, expect, it } from 'vitest';
import { openClient, rejectionCode, startServer, uniqueQueue } from './support.js';

describe('credentials', () => {
  it('fresh per attempt - a refused login is tried again with fresh credentials, and the call made meanwhile is answered', async () => {
    const queue = uniqueQueue('credentials');
    await startServer(queue);
    const asked: string[] = [];
    const client = openClient(queue, {
      reconnectDelayMs: 50,
      credentials: async () => {
        const passcode = asked.length === 0 ? 'expired-token' : 'guest';
        asked.push(passcode);
        return { login: 'guest', passcode };
      },
    });
    await expect(client.call(20)).resolves.toBe(6765n);
    expect(asked).toEqual(['expired-token', 'guest']);
    expect(client.stats.reconnects).toBe(0); // refused attempts are not reconnects
  });

  it('refused twice - when a fresh login is refused too, ready() and waiting calls end with UNAUTHENTICATED, promptly', async () => {
    const queue = uniqueQueue('credentials-refused');
    let asked = 0;
    const client = openClient(queue, {
      reconnectDelayMs: 50,
      credentials: () => ({ login: 'guest', passcode: `revoked-${++asked}` }),
    });
    const started = Date.now();
    const call = rejectionCode(client.call(1, { timeoutMs: 10_000 }));
    expect(await rejectionCode(client.ready(10_000))).toBe('UNAUTHENTICATED');
    expect(await call).toBe('UNAUTHENTICATED');
    expect(asked).toBe(2);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
