import { describe, expect, it, vi } from 'vitest';
import { freshCredentials, Login } from './credentials.js';

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
    expect(await login.refresh(headers, 1000)).toBeUndefined();
    expect(headers).toEqual({ login: 'u', passcode: 'token-1', host: '/' });
    await login.refresh(headers, 1000);
    expect(headers.passcode).toBe('token-2');
  });

  it('refresh - a source that throws, answers junk or hangs leaves the headers and says why, within the bound', async () => {
    const headers = { login: 'u', passcode: 'last' };
    const throwing = new Login(() => {
      throw new Error('token endpoint down');
    });
    expect(await throwing.refresh(headers, 1000)).toMatchObject({
      code: 'UNAUTHENTICATED',
      message: expect.stringContaining('token endpoint down'),
    });
    const junk = new Login(() => ({ login: 'u' }) as never);
    expect(await junk.refresh(headers, 1000)).toMatchObject({ code: 'UNAUTHENTICATED' });
    const hanging = new Login(() => new Promise(() => {}));
    const started = Date.now();
    expect(await hanging.refresh(headers, 50)).toMatchObject({ message: expect.stringContaining('within 50 ms') });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(headers).toEqual({ login: 'u', passcode: 'last' });
  });

  it('close - ends a refresh under way at once, so its timer cannot keep Node alive after close()', async () => {
    vi.useFakeTimers();
    try {
      const headers = { login: 'u', passcode: 'last' };
      const login = new Login(() => new Promise(() => {}));
      const refreshed = login.refresh(headers, 5000);
      expect(vi.getTimerCount()).toBe(1); // the refresh's bound
      login.close();
      expect(await refreshed).toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringContaining('closed') });
      expect(vi.getTimerCount()).toBe(0);
      // and one asked for after close() does not wait either
      expect(await login.refresh(headers, 5000)).toMatchObject({ code: 'UNAUTHENTICATED' });
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
