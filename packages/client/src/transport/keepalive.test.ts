import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../test/manual-clock.js';
import { Keepalive, PRESUMED_CLOSED_AFTER_MS } from './keepalive.js';

function keepalive(intervalMs = 20_000) {
  const clock = new ManualClock();
  const sentAt: number[] = [];
  const lapses: number[] = [];
  const subject = new Keepalive(clock, intervalMs, {
    send: () => sentAt.push(clock.now()),
    lapsed: (silentMs) => lapses.push(silentMs),
  });
  return { clock, subject, sentAt, lapses };
}

describe('Keepalive', () => {
  it('keepalive - sends an end-of-line every interval from its timer', () => {
    const { clock, subject, sentAt } = keepalive();
    subject.start();
    clock.advance(61_000);
    expect(sentAt).toEqual([20_000, 40_000, 60_000]);
  });

  it('keepalive - answers a heart-beat only when nothing went out for an interval', () => {
    const { clock, subject, sentAt } = keepalive();
    subject.start();
    clock.stall(10_000);
    subject.heard(); // 10 s after the connection: nothing to do
    clock.stall(10_000);
    subject.heard(); // 20 s: due
    clock.stall(10_000);
    subject.heard(); // 10 s after that one
    expect(sentAt).toEqual([20_000]);
  });

  it('keepalive - in a tab whose timers are held back, heart-beats alone keep sending', () => {
    const { clock, subject, sentAt, lapses } = keepalive();
    subject.start();
    // A hidden tab: no timer runs for five minutes, heart-beats arrive every 10 s.
    for (let second = 10; second <= 300; second += 10) {
      clock.stall(10_000);
      subject.heard();
    }
    expect(sentAt).toEqual(Array.from({ length: 15 }, (_, index) => (index + 1) * 20_000));
    expect(subject.silentForMs).toBe(0);
    clock.advance(0); // the held-back timer finally runs: the connection was never silent for long
    expect(lapses).toEqual([]);
  });

  it('keepalive - a frame sent counts as traffic, so a heart-beat right after it sends nothing', () => {
    const { clock, subject, sentAt } = keepalive();
    subject.start();
    clock.stall(25_000);
    subject.sent();
    subject.heard();
    expect(sentAt).toEqual([]);
  });

  it('keepalive - a timer that runs after a minute of silence reports the connection lapsed instead of sending', () => {
    const { clock, subject, sentAt, lapses } = keepalive();
    subject.start();
    clock.stall(70_000); // a frozen page: nothing ran
    clock.advance(0);
    expect(sentAt).toEqual([]);
    expect(lapses).toEqual([70_000]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('keepalive - a heart-beat read after a minute of silence (a page unfrozen) reports the connection lapsed, and no answer makes it look alive', () => {
    const { clock, subject, sentAt, lapses } = keepalive();
    subject.start();
    clock.stall(70_000);
    subject.heard(); // the beats that waited are read before the page's own code runs
    expect(sentAt).toEqual([]);
    expect(lapses).toEqual([70_000]);
    expect(subject.reportIfLapsed()).toBe(false); // stopped: reported once
  });

  it('keepalive - check() sends at once after a short silence and reports a long one', () => {
    const { clock, subject, sentAt, lapses } = keepalive();
    subject.start();
    clock.stall(30_000);
    subject.check();
    expect(sentAt).toEqual([30_000]);
    clock.stall(PRESUMED_CLOSED_AFTER_MS);
    subject.check();
    expect(lapses).toEqual([PRESUMED_CLOSED_AFTER_MS]);
    subject.check(); // stopped: nothing more
    subject.heard();
    expect(sentAt).toEqual([30_000]);
  });

  it('keepalive - an interval longer than the broker idle timeout moves the lapse limit to two intervals', () => {
    const { clock, subject, sentAt, lapses } = keepalive(40_000);
    subject.start();
    clock.advance(120_000);
    expect(sentAt).toEqual([40_000, 80_000, 120_000]);
    expect(lapses).toEqual([]);
  });

  it('keepalive - interval 0 turns it off, and stop() leaves no timer behind', () => {
    const off = keepalive(0);
    off.subject.start();
    off.clock.stall(100_000);
    off.subject.heard();
    off.subject.check();
    expect([off.sentAt, off.lapses, off.clock.pendingTimers]).toEqual([[], [], 0]);

    const on = keepalive();
    on.subject.start();
    on.subject.stop();
    expect(on.clock.pendingTimers).toBe(0);
  });
});
