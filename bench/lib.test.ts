import { describe, expect, it } from 'vitest';
import { drive, sleep } from './lib.mjs';

describe('drive', () => {
  it('a call hanging past the window does not stretch the time its rate is divided by', async () => {
    let calls = 0;
    const call = () => (++calls === 1 ? sleep(600) : sleep(2)); // the first, made however slow the timers
    const window = await drive(call, 2, 150);
    expect(window.seconds).toBeGreaterThan(0.55); // drive waited for the hung call
    expect(window.answered).toBeGreaterThan(1);
    expect(window.perSecond).toBeCloseTo(window.answered / 0.15, 6);
    expect(window.latencies.length).toBeGreaterThan(window.answered); // the hung call, answered after the window
  });

  it('counts failures and stops at its window', async () => {
    let calls = 0;
    const window = await drive(() => (++calls % 2 === 0 ? Promise.reject(new Error('no')) : sleep(5)), 1, 60);
    expect(window.errors).toBeGreaterThan(0);
    expect(window.latencies.length + window.errors).toBe(calls);
    expect(window.seconds).toBeLessThan(0.5);
  });
});
