import { describe, expect, it, vi } from 'vitest';
import { RpcError } from '../errors.js';
import { freshCredentials, LATE_ANSWER_KEEP_MS, Login } from './credentials.js';

describe('credentials', () => {
  it('refused - fixed credentials: the first refusal is final', () => {
    const login = new Login(undefined);
    expect(login.refused()).toBe(true);
  });

  it('refused - from a source: the first refusal is retried with fresh ones, the second in a row is final', () => {
    const login = new Login(() => ({ login: 'u', passcode: 'token' }));
    expect(login.refused()).toBe(false);
    expect(login.refused()).toBe(true);
    login.connected(); // a connection in between starts the count again
    expect(login.refused()).toBe(false);
  });

  it('refresh - puts what the source returns in the CONNECT headers, keeping the others', async () => {
    let minted = 0;
    const login = new Login(async () => ({ login: 'u', passcode: `token-${++minted}` }));
    const headers = { login: 'old', passcode: 'old', host: '/' };
    await login.refresh(headers, 1000);
    expect(headers).toEqual({ login: 'u', passcode: 'token-1', host: '/' });
    await login.refresh(headers, 1000);
    expect(headers.passcode).toBe('token-2');
  });

  it('refresh - an answer still under way when its attempt gave up is waited for by the next attempt, not asked for again alongside; past LATE_ANSWER_KEEP_MS an attempt asks anew', async () => {
    vi.useFakeTimers();
    try {
      let asked = 0;
      const answers: Array<(credentials: { login: string; passcode: string }) => void> = [];
      const login = new Login(() => {
        asked++;
        return new Promise((resolve) => answers.push(resolve));
      });
      const headers = { login: 'guest', passcode: 'guest' };
      const first = login.refresh(headers, 5000);
      await vi.advanceTimersByTimeAsync(5000);
      await first; // gave up on it
      expect(login.missing?.message).toContain('no answer within 5000 ms');
      const second = login.refresh(headers, 5000);
      await vi.advanceTimersByTimeAsync(3000);
      expect(asked).toBe(1); // the same call, still under way
      answers[0]?.({ login: 'u', passcode: 'slow-token' });
      await second;
      expect(headers).toEqual({ login: 'u', passcode: 'slow-token' });
      // An answer that came after its attempt gave up serves the next attempt, unasked again.
      const third = login.refresh(headers, 5000);
      await vi.advanceTimersByTimeAsync(5000);
      await third;
      answers[1]?.({ login: 'u', passcode: 'late-token' });
      await vi.advanceTimersByTimeAsync(500); // the backoff before the next attempt
      await login.refresh(headers, 5000);
      expect(headers.passcode).toBe('late-token');
      expect(asked).toBe(2);
      // An answer that never comes is waited for by the attempts of LATE_ANSWER_KEEP_MS, not by every attempt after.
      const hung = [login.refresh(headers, 100), login.refresh(headers, 100)];
      await vi.advanceTimersByTimeAsync(100);
      await Promise.all(hung);
      expect(asked).toBe(3);
      await vi.advanceTimersByTimeAsync(LATE_ANSWER_KEEP_MS - 200);
      const stillShared = login.refresh(headers, 100);
      await vi.advanceTimersByTimeAsync(100);
      await stillShared;
      expect(asked).toBe(3);
      await vi.advanceTimersByTimeAsync(100);
      const anew = login.refresh(headers, 100);
      await vi.advanceTimersByTimeAsync(100);
      await anew;
      expect(asked).toBe(4);
    } finally {
      vi.useRealTimers();
    }
  });

  // Regression: a third attempt asked anew while the first call was still under way, and that call's
  // answer, coming later, was never used: a source slower than two attempts never got a login in.
  it('refresh - a source slower than several attempts is called once, and its answer serves the attempt after it came', async () => {
    vi.useFakeTimers();
    try {
      let asked = 0;
      const login = new Login(() => {
        asked++;
        return new Promise((resolve) => setTimeout(() => resolve({ login: 'u', passcode: `token-${asked}` }), 20_000));
      });
      const headers = { login: 'guest', passcode: 'guest' };
      for (let attempt = 0; attempt < 3; attempt++) {
        const refreshed = login.refresh(headers, 5000);
        await vi.advanceTimersByTimeAsync(5000 + 1000); // its wait, then the backoff
        await refreshed;
      }
      expect(headers.passcode).toBe('guest'); // three attempts gave up on it, 18 s in
      await vi.advanceTimersByTimeAsync(2000); // it answers, 20 s in
      await login.refresh(headers, 5000);
      expect(headers.passcode).toBe('token-1');
      expect(asked).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refresh - a source that throws, answers junk or hangs leaves the headers, within the bound; explain() then says why, keeping the attempt’s own code', async () => {
    const unreachable = new RpcError('UNAVAILABLE', 'cannot reach ws://broker/ws');
    /** A source that answers once, then fails with `failure`. */
    const failingAfterOne = async (failure: () => unknown) => {
      let answered = false;
      const login = new Login(() => {
        if (answered) return failure() as never;
        answered = true;
        return { login: 'u', passcode: 'last' };
      });
      const headers = { login: 'guest', passcode: 'guest' };
      await login.refresh(headers, 50);
      const started = Date.now();
      await login.refresh(headers, 50);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(headers).toEqual({ login: 'u', passcode: 'last' });
      return login;
    };
    const throwing = await failingAfterOne(() => {
      throw new Error('token endpoint down');
    });
    expect(throwing.explain(unreachable)).toMatchObject({
      code: 'UNAVAILABLE', // not UNAUTHENTICATED: no login was refused
      message: expect.stringMatching(/^cannot reach ws:\/\/broker\/ws \(credentials\(\) failed: token endpoint down;/),
      cause: unreachable,
    });
    const junk = await failingAfterOne(() => ({ login: 'u' }));
    expect(junk.explain(unreachable).message).toContain('it must return { login: string, passcode: string }');
    const hanging = await failingAfterOne(() => new Promise(() => {}));
    expect(hanging.explain(unreachable).message).toContain('no answer within 50 ms');
  });

  it('missing - until the source has answered once there is nothing to log in with, not even the default guest', async () => {
    expect(new Login(undefined).missing).toBeUndefined();
    let fail = true;
    const login = new Login(() => {
      if (fail) throw new Error('token endpoint down');
      return { login: 'u', passcode: 'token' };
    });
    expect(login.missing).toMatchObject({ code: 'UNAVAILABLE' }); // not asked yet
    const headers = { login: 'guest', passcode: 'guest' };
    await login.refresh(headers, 1000);
    expect(login.missing).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('credentials() failed: token endpoint down'),
    });
    // explain() does not claim an attempt went with last credentials: there were none
    const reason = new RpcError('UNAVAILABLE', 'cannot reach ws://broker/ws');
    expect(login.explain(reason)).toBe(reason);
    fail = false;
    await login.refresh(headers, 1000);
    expect(login.missing).toBeUndefined();
    fail = true;
    await login.refresh(headers, 1000); // from now on the attempt goes with the last ones
    expect(login.missing).toBeUndefined();
    expect(headers).toEqual({ login: 'u', passcode: 'token' });
  });

  it('refused - an attempt that went with old credentials, the source having failed, does not count towards a final refusal', async () => {
    let fail = false;
    const login = new Login(() => {
      if (fail) throw new Error('token endpoint down');
      return { login: 'u', passcode: 'token' };
    });
    await login.refresh({}, 1000);
    expect(login.refused()).toBe(false); // a fresh token refused: maybe expired on the way
    fail = true;
    await login.refresh({}, 1000);
    expect(login.refused()).toBe(false); // the same old token refused again: the endpoint is down, not the login
    expect(login.refused()).toBe(false);
    fail = false;
    await login.refresh({}, 1000);
    expect(login.refused()).toBe(true); // a second fresh one refused: final
  });

  it('explain - after a refresh that worked, or without a source, the reason is left as it is', async () => {
    const reason = new RpcError('UNAVAILABLE', 'cannot reach ws://broker/ws');
    expect(new Login(undefined).explain(reason)).toBe(reason);
    let fail = true;
    const login = new Login(() => {
      if (fail) throw new Error('down');
      return { login: 'u', passcode: 'token' };
    });
    fail = false;
    await login.refresh({}, 1000);
    fail = true;
    await login.refresh({}, 1000);
    expect(login.explain(reason)).not.toBe(reason);
    fail = false;
    await login.refresh({}, 1000);
    expect(login.explain(reason)).toBe(reason);
  });

  it('close - ends a refresh under way at once, so its timer cannot keep Node alive after close()', async () => {
    vi.useFakeTimers();
    try {
      const headers = { login: 'u', passcode: 'last' };
      const login = new Login(() => new Promise(() => {}));
      const refreshed = login.refresh(headers, 5000);
      expect(vi.getTimerCount()).toBe(1); // the refresh's bound
      login.close();
      await refreshed;
      expect(vi.getTimerCount()).toBe(0);
      // and one asked for after close() does not wait either
      await login.refresh(headers, 5000);
      expect(vi.getTimerCount()).toBe(0);
      expect(headers).toEqual({ login: 'u', passcode: 'last' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('freshCredentials - resolves with the source’s answer', async () => {
    await expect(freshCredentials(() => ({ login: 'a', passcode: 'b' }), 100)).resolves.toEqual({
      login: 'a',
      passcode: 'b',
    });
  });
});
