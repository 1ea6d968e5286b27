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
  it('after the broker’s close for a frame over its limit: the largest frame sent on that connection, then afresh', () => {
    const largest = new LargestFrame<string>(100);
    largest.sent('a', '/queue/q', 'x'.repeat(200));
    largest.sent('b', '/queue/q', 'é'.repeat(150)); // 150 units, 300 bytes
    largest.sent('c', '/queue/q', 'x'.repeat(250));
    largest.sent('d', '/queue/q', 'x'.repeat(300)); // as many bytes as b, not more
    expect(largest.lost(oversizedClose())).toEqual({ what: 'b', bytes: 308 });
    expect(largest.lost(oversizedClose())).toBeUndefined(); // nothing sent on the next connection
    largest.sent('e', '/queue/q', 'x'.repeat(120));
    expect(largest.lost(oversizedClose())).toEqual({ what: 'e', bytes: 128 });
  });

  it('a close for any other reason teaches nothing, and forgets what was sent', () => {
    const largest = new LargestFrame<string>(100);
    largest.sent('a', '/queue/q', 'x'.repeat(500));
    expect(largest.lost(new RpcError('CONNECTION_LOST', 'WebSocket closed with code 1006'))).toBeUndefined();
    expect(largest.lost(oversizedClose())).toBeUndefined();
  });

  it('frames of up to the floor are not counted: they cannot be what the broker refused', () => {
    const largest = new LargestFrame<string>(100);
    largest.sent('a', '/queue/q', 'x'.repeat(92)); // 100 bytes
    expect(largest.lost(oversizedClose())).toBeUndefined();
    // 93 bytes of body and headers: the headers count too.
    largest.sent('b', '/queue/q', 'x'.repeat(90), { 'x-a': 'b' });
    expect(largest.lost(oversizedClose())).toEqual({ what: 'b', bytes: 102 });
  });
});
