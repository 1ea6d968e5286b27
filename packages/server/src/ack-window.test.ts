import { describe, expect, it } from 'vitest';
import { AckWindow } from './ack-window.js';

/** A window over numbered deliveries that records its ACKs and runs flushes when told. */
function setup() {
  const acked: number[] = [];
  const flushes: Array<() => void> = [];
  const window = new AckWindow<number>({
    schedule: (flush) => flushes.push(flush),
    ack: (delivery) => acked.push(delivery),
  });
  const runFlushes = () => {
    for (const flush of flushes.splice(0)) flush();
  };
  return { window, acked, flushes, runFlushes };
}

describe('AckWindow', () => {
  it('ack - one ACK of the last delivery covers everything finished in the turn', () => {
    const { window, acked, flushes, runFlushes } = setup();
    const entries = [1, 2, 3].map((delivery) => window.add(delivery));
    for (const entry of entries) window.finish(entry);
    expect(flushes).toHaveLength(1); // one flush however many finished
    expect(acked).toEqual([]);
    runFlushes();
    expect(acked).toEqual([3]);
    expect(window.size).toBe(0);
  });

  it('ack - an unfinished delivery holds back the ACK of those after it', () => {
    const { window, acked, runFlushes } = setup();
    const [first, slow, third, fourth] = [1, 2, 3, 4].map((delivery) => window.add(delivery));
    window.finish(first as never);
    window.finish(third as never);
    window.finish(fourth as never);
    runFlushes();
    expect(acked).toEqual([1]); // 3 and 4 are done but behind 2
    expect(window.size).toBe(3);
    window.finish(slow as never);
    runFlushes();
    expect(acked).toEqual([1, 4]);
    expect(window.size).toBe(0);
  });

  it('ack - nothing finished, nothing sent', () => {
    const { window, acked, runFlushes } = setup();
    window.add(1);
    window.flush();
    runFlushes();
    expect(acked).toEqual([]);
  });

  it('settleForClose - ACKs the finished prefix and counts the rest, which the close hands back', () => {
    const { window, acked } = setup();
    const [first, , third] = [1, 2, 3, 4].map((delivery) => window.add(delivery));
    window.finish(first as never);
    window.finish(third as never);
    expect(window.settleForClose()).toBe(3);
    expect(acked).toEqual([1]);
    expect(window.size).toBe(0);
  });

  it('settleForClose - with everything finished, all ACKed and nothing to hand back', () => {
    const { window, acked } = setup();
    window.finish(window.add(1));
    expect(window.settleForClose()).toBe(0);
    expect(acked).toEqual([1]);
  });

  it('reset - deliveries of a lost connection are forgotten, never ACKed on the next', () => {
    const { window, acked, runFlushes } = setup();
    const old = window.add(1);
    window.reset();
    window.finish(old);
    const fresh = window.add(2);
    window.finish(fresh);
    runFlushes();
    expect(acked).toEqual([2]);
  });

  it('compaction - a long-lived window keeps acknowledging in order', () => {
    const { window, acked, runFlushes } = setup();
    const slow = window.add(0);
    for (let delivery = 1; delivery <= 3000; delivery++) window.finish(window.add(delivery));
    runFlushes();
    expect(acked).toEqual([]);
    window.finish(slow);
    runFlushes();
    expect(acked).toEqual([3000]);
    for (let delivery = 3001; delivery <= 5000; delivery++) window.finish(window.add(delivery));
    runFlushes();
    expect(acked).toEqual([3000, 5000]);
    expect(window.size).toBe(0);
  });
});
