import { RpcError } from '@stomp-rpc/client';
import { MAX_TIMER_MS } from '@stomp-rpc/client/internal';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RequestControl } from './request-control.js';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** Time passing inside a synchronous step, which runs no timer: the monotonic clock moves on by `ms`. */
function busyFor(ms: number): void {
  const at = performance.now() + ms;
  vi.spyOn(performance, 'now').mockReturnValue(at);
}

describe('RequestControl', () => {
  it('makes no timer until the signal is asked for, then aborts it at the deadline with DEADLINE_EXCEEDED', () => {
    vi.useFakeTimers({ now: 1000 });
    const control = new RequestControl(1500);
    expect(vi.getTimerCount()).toBe(0);
    const { signal } = control;
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(499);
    expect(signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(signal.reason).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(control.cancelled).toBe(false);
  });

  it('a step of the system clock back gives a request no more time; a jump forward (a machine resumed from sleep) ends it', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const back = new RequestControl(Date.now() + 1000);
    const { signal } = back;
    vi.setSystemTime(Date.now() - 3_600_000); // NTP correcting the clock: the monotonic clock runs on
    vi.advanceTimersByTime(999);
    expect(signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(signal.reason).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    const forward = new RequestControl(Date.now() + 1000);
    expect(forward.reason).toBeUndefined();
    vi.setSystemTime(Date.now() + 3_600_000); // an hour asleep, which the monotonic clock does not count
    expect(forward.reason).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it('a cancel aborts with ABORTED, clears the timer, and a signal asked for later is aborted already', () => {
    vi.useFakeTimers({ now: 0 });
    const early = new RequestControl(10_000);
    const { signal } = early;
    early.abort(new RpcError('ABORTED', 'the caller cancelled the call'));
    expect(signal.reason).toMatchObject({ code: 'ABORTED' });
    expect(early.cancelled).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    const late = new RequestControl(Number.POSITIVE_INFINITY);
    late.abort(new RpcError('ABORTED', 'the caller cancelled the call'));
    late.abort(new RpcError('DEADLINE_EXCEEDED', 'ignored: the first reason stays'));
    expect(late.signal.aborted).toBe(true);
    expect(late.reason?.code).toBe('ABORTED');
    expect(vi.getTimerCount()).toBe(0); // no deadline, no timer
  });

  it('dispose clears the deadline timer', () => {
    vi.useFakeTimers({ now: 0 });
    const control = new RequestControl(5000);
    void control.signal;
    control.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reason reports a deadline that passed even when no timer was made', () => {
    vi.useFakeTimers({ now: 0 });
    const control = new RequestControl(100);
    expect(control.reason).toBeUndefined();
    busyFor(100);
    expect(control.reason).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('within - passes the work’s outcome through, and rejects at the deadline or the cancel when the work hangs', async () => {
    vi.useFakeTimers({ now: 0 });
    const quick = new RequestControl(1000);
    await expect(quick.within(Promise.resolve('answer'))).resolves.toBe('answer');
    await expect(quick.within(Promise.reject(new Error('handler failed')))).rejects.toThrow('handler failed');
    quick.dispose();
    expect(vi.getTimerCount()).toBe(0);

    const late = new RequestControl(1000);
    const hanging = late.within(new Promise(() => {}));
    const outcome = hanging.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(999);
    expect(late.reason).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(await outcome).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    await expect(late.within(Promise.resolve('too late'))).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });

    const cancelled = new RequestControl(Number.POSITIVE_INFINITY);
    const waiting = cancelled.within(new Promise(() => {}));
    cancelled.abort(new RpcError('ABORTED', 'the caller cancelled the call'));
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('within - work handed over after the deadline is still observed: its later failure is no unhandled rejection', async () => {
    // A stream's producer whose synchronous step ran past the deadline, then awaited an abortable
    // wait: within() sees the stop first, and the wait rejects once the stop aborts the signal.
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      vi.useFakeTimers({ now: 0 });
      const control = new RequestControl(1000);
      const { signal } = control;
      const work = new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(new Error('aborted wait'))),
      );
      busyFor(1500); // the deadline passed during synchronous work: its timer has not run
      await expect(control.within(work)).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
      expect(signal.aborted).toBe(true);
      vi.useRealTimers();
      await new Promise((resolve) => setTimeout(resolve, 20)); // Node reports unhandled rejections after the microtasks
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('a deadline beyond what one timer can wait is not cut short: the timer is armed again', async () => {
    vi.useFakeTimers({ now: 0 });
    const control = new RequestControl(MAX_TIMER_MS + 60_000);
    const { signal } = control;
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS);
    expect(signal.aborted).toBe(false);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(signal.reason).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });
});
