import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../test/manual-clock.js';
import { AttemptPacer } from './attempt-pacer.js';

/** Lets every promise callback queued so far run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function pacer(delayMs: number) {
  const clock = new ManualClock();
  const subject = new AttemptPacer(clock, () => delayMs);
  const track = () => {
    const wait = { done: false };
    void subject.wait().then(() => {
      wait.done = true;
    });
    return wait;
  };
  return { clock, subject, track };
}

describe('AttemptPacer', () => {
  it('pacer - the first attempt goes at once, each later one after the delay', async () => {
    const { clock, track } = pacer(250);
    const first = track();
    await settle();
    expect(first.done).toBe(true);
    const second = track();
    clock.advance(249);
    await settle();
    expect(second.done).toBe(false);
    clock.advance(1);
    await settle();
    expect(second.done).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('pacer - skipNext() lets one attempt go at once; wake() ends a wait in progress', async () => {
    const { clock, subject, track } = pacer(10_000);
    track();
    await settle();
    subject.skipNext();
    const skipped = track();
    await settle();
    expect(skipped.done).toBe(true);
    const woken = track();
    await settle();
    expect(woken.done).toBe(false);
    subject.wake();
    await settle();
    expect(woken.done).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    const delayed = track();
    await settle();
    expect(delayed.done).toBe(false);
    clock.advance(10_000);
    await settle();
    expect(delayed.done).toBe(true);
  });
});
