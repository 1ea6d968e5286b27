import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../test/manual-clock.js';
import { RpcError } from '../errors.js';
import { type OutgoingRequest, type PendingCall, PendingCalls } from './pending-calls.js';

const REQUEST: OutgoingRequest = {
  destination: '/queue/q',
  queue: 'q',
  body: '30',
  headers: {},
  idempotent: false,
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
};

type Reply = { body: string };

function setup(
  timeoutError = (call: PendingCall<Reply>) => new RpcError('TIMEOUT', `${call.correlationId} timed out`),
) {
  const clock = new ManualClock(1000);
  const settled = vi.fn<(call: PendingCall<Reply>, outcome: Reply | RpcError) => void>();
  const timeoutErrorSpy = vi.fn(timeoutError);
  const calls = new PendingCalls<Reply>(clock, { timeoutError: timeoutErrorSpy, settled });
  const add = (correlationId: string, options: { timeoutMs?: number; signal?: AbortSignal; callSite?: Error } = {}) =>
    calls.add(correlationId, REQUEST, {
      timeoutMs: options.timeoutMs ?? 500,
      signal: options.signal,
      callSite: options.callSite ?? new Error(),
      confirmWaitMs: 250,
    });
  return { clock, calls, settled, timeoutError: timeoutErrorSpy, add };
}

/** Stands for the caller's code: its name must show in the stack of an asynchronous rejection. */
function callerOfTheRpc(): Error {
  return new Error();
}

describe('PendingCalls', () => {
  it('add - registers the call with its deadline and an unsent delivery', () => {
    const { calls, add, clock } = setup();
    const { call } = add('c1', { timeoutMs: 500 });
    expect(calls.size).toBe(1);
    expect(calls.get('c1')).toBe(call);
    expect(call).toMatchObject({ correlationId: 'c1', startedAt: 1000, deadline: 1500, timeoutMs: 500 });
    const unsent = {
      sent: false,
      queued: false,
      confirmed: false,
      sends: 0,
      resentHere: false,
      dropped: false,
      lastSentAt: 0,
      lastWrite: 0,
      handledAt: undefined,
      unconfirmedSince: 0,
    };
    expect(call.delivery).toEqual({ ...unsent, confirmWaitMs: 250 });
    expect(clock.pendingTimers).toBe(1);
  });

  it('settle - a reply resolves the call, and its deadline passing later does nothing', async () => {
    const { calls, add, clock, settled, timeoutError } = setup();
    const { settled: reply } = add('c1', { timeoutMs: 500 });
    expect(calls.settle('c1', { body: '832040' })).toBe(true);
    await expect(reply).resolves.toEqual({ body: '832040' });
    expect(calls.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(10_000);
    expect(timeoutError).not.toHaveBeenCalled();
    expect(settled).toHaveBeenCalledTimes(1);
  });

  it('settle - a second outcome for the same call is refused', async () => {
    const { calls, add, settled } = setup();
    const { settled: reply } = add('c1');
    expect(calls.settle('c1', new RpcError('INTERNAL', 'boom', { remote: true }))).toBe(true);
    expect(calls.settle('c1', { body: 'too late' })).toBe(false);
    expect(calls.settle('unknown', { body: 'foreign' })).toBe(false);
    await expect(reply).rejects.toMatchObject({ code: 'INTERNAL', remote: true });
    expect(settled).toHaveBeenCalledTimes(1);
  });

  it('abort - rejects with ABORTED and the signal reason as cause, removing the entry and the timer', async () => {
    const { calls, add, clock, settled } = setup();
    const controller = new AbortController();
    const { settled: reply } = add('c1', { signal: controller.signal });
    const reason = new Error('user left the page');
    controller.abort(reason);
    const error = await reply.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RpcError);
    expect(error).toMatchObject({ code: 'ABORTED', cause: reason });
    expect(calls.size).toBe(0);
    expect(calls.get('c1')).toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
    expect(settled).toHaveBeenCalledTimes(1);
  });

  it('abort - a call that ended otherwise removes its abort listener', async () => {
    const { calls, add, settled } = setup();
    const controller = new AbortController();
    const addListener = vi.spyOn(controller.signal, 'addEventListener');
    const removeListener = vi.spyOn(controller.signal, 'removeEventListener');
    const { settled: reply } = add('c1', { signal: controller.signal });
    expect(addListener).toHaveBeenCalledTimes(1);
    const listener = addListener.mock.calls[0]?.[1];
    calls.settle('c1', { body: '1' });
    expect(removeListener).toHaveBeenCalledWith('abort', listener);
    controller.abort();
    await expect(reply).resolves.toEqual({ body: '1' });
    expect(settled).toHaveBeenCalledTimes(1);
  });

  it('deadline - rejects with the error timeoutError gives, at the deadline and not before', async () => {
    const overloaded = new RpcError('OVERLOADED', 'the broker did not accept the request');
    const { calls, add, clock, timeoutError } = setup(() => overloaded);
    const { call, settled: reply } = add('c1', { timeoutMs: 500 });
    clock.advance(499);
    expect(calls.size).toBe(1);
    expect(timeoutError).not.toHaveBeenCalled();
    clock.advance(1);
    await expect(reply).rejects.toBe(overloaded);
    expect(timeoutError).toHaveBeenCalledTimes(1);
    expect(timeoutError).toHaveBeenCalledWith(call);
    expect(calls.size).toBe(0);
  });

  it("deadline - the rejection's stack points at the caller, not at the timer", async () => {
    const { add, clock } = setup();
    const { settled: reply } = add('c1', { timeoutMs: 500, callSite: callerOfTheRpc() });
    clock.advance(500);
    const error = (await reply.catch((caught: unknown) => caught)) as RpcError;
    expect(error.code).toBe('TIMEOUT');
    expect(error.stack).toMatch(/^RpcError \[TIMEOUT\]: c1 timed out\n/);
    expect(error.stack).toContain('callerOfTheRpc');
  });

  it('rejectAll - rejects every call with its own error and leaves nothing behind', async () => {
    const { calls, add, clock, settled } = setup();
    const replies = ['c1', 'c2', 'c3'].map((id) => add(id).settled);
    const makeError = vi.fn(() => new RpcError('CLOSED', 'the client was closed'));
    calls.rejectAll(makeError);
    const errors = await Promise.all(replies.map((reply) => reply.catch((caught: unknown) => caught)));
    expect(errors.map((error) => (error as RpcError).code)).toEqual(['CLOSED', 'CLOSED', 'CLOSED']);
    expect(new Set(errors).size).toBe(3);
    expect(makeError).toHaveBeenCalledTimes(3);
    expect(calls.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    expect(settled).toHaveBeenCalledTimes(3);
  });

  it('settled - called once per call with the call, its outcome and, for an abort, that its caller ended it', async () => {
    const { calls, add, clock, settled } = setup();
    const first = add('c1', { timeoutMs: 500 });
    const second = add('c2', { timeoutMs: 500 });
    const caller = new AbortController();
    const third = add('c3', { timeoutMs: 500, signal: caller.signal });
    calls.settle('c1', { body: '1' });
    caller.abort();
    clock.advance(500);
    calls.settle('c1', { body: 'again' });
    await first.settled;
    await expect(second.settled).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expect(third.settled).rejects.toMatchObject({ code: 'ABORTED' });
    expect(settled).toHaveBeenCalledTimes(3);
    expect(settled).toHaveBeenNthCalledWith(1, first.call, { body: '1' }, undefined);
    expect(settled).toHaveBeenNthCalledWith(2, third.call, expect.objectContaining({ code: 'ABORTED' }), 'caller');
    expect(settled).toHaveBeenNthCalledWith(3, second.call, expect.objectContaining({ code: 'TIMEOUT' }), undefined);
  });
});
