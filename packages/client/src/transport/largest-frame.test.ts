import { describe, expect, it } from 'vitest';
import { RpcError } from '../errors.js';
import { EndReason } from './end-reason.js';
import { frameBytes, frameUnits, LargestFrame } from './largest-frame.js';

/** The broker's close for a frame over its limit, as the connection names it. */
const oversizedClose = () => new EndReason().take({ code: 1009 }, 'ws://broker', true);

describe('frame size', () => {
  it('counts UTF-8, with the characters a header value escapes counted twice, names as they are', () => {
    expect(frameBytes('/queue/q', 'é€', { 'x-a': 'b:c' }, undefined, { 'x-d': '\\' })).toBe(8 + 5 + 3 + 4 + 3 + 2);
    expect(frameBytes('/queue/a:b', '')).toBe(11);
    expect(frameUnits('/queue/q', 'é€', { 'x-a': 'b:c' }, undefined, { 'x-d': '\\' })).toBe(8 + 2 + 6 + 4);
  });
});

describe('LargestFrame', () => {
  it('tells which frame is the largest counted on the connection so far, in bytes', () => {
    const largest = new LargestFrame(100);
    expect(largest.sent('/queue/q', 'x'.repeat(200))).toBe(true);
    expect(largest.sent('/queue/q', 'é'.repeat(150))).toBe(true); // 150 units, 300 bytes
    expect(largest.sent('/queue/q', 'x'.repeat(250))).toBe(false);
    expect(largest.sent('/queue/q', 'x'.repeat(300))).toBe(false); // as many bytes, not more
    expect(largest.sent('/queue/q', 'x'.repeat(290), { 'x-a': 'bcdefghi' })).toBe(true);
  });

  it('after the broker’s close for a frame over its limit, the largest counted is over it; then the next connection is counted afresh', () => {
    const largest = new LargestFrame(100);
    largest.sent('/queue/q', 'x'.repeat(500));
    expect(largest.lost(oversizedClose())).toBe(true);
    expect(largest.lost(oversizedClose())).toBe(false); // nothing sent on the next connection
    expect(largest.sent('/queue/q', 'x'.repeat(120))).toBe(true);
  });

  it('a close for any other reason teaches nothing, and forgets what was sent', () => {
    const largest = new LargestFrame(100);
    largest.sent('/queue/q', 'x'.repeat(500));
    expect(largest.lost(new RpcError('CONNECTION_LOST', 'WebSocket closed with code 1006'))).toBe(false);
    expect(largest.lost(oversizedClose())).toBe(false);
  });

  it('frames of up to the floor are not counted: they cannot be what the broker refused', () => {
    const largest = new LargestFrame(100);
    expect(largest.sent('/queue/q', 'x'.repeat(92))).toBe(false); // 100 bytes
    expect(largest.lost(oversizedClose())).toBe(false);
    // 93 bytes of body and headers: the headers count too.
    expect(largest.sent('/queue/q', 'x'.repeat(90), { 'x-a': 'b' })).toBe(true);
    expect(largest.lost(oversizedClose())).toBe(true);
  });
});
