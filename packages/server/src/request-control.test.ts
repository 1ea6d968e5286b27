import { RpcError } from '@stomp-rpc/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RequestControl } from './request-control.js';

afterEach(() => {
  vi.useRealTimers();
});

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
});
