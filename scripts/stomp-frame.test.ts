// The hand-written STOMP codec the wire tests and the raw-echo bench read the broker with.
import { describe, expect, it } from 'vitest';
import { decodeFrames, encodeFrame } from './stomp-frame.mjs';

describe('stomp-frame', () => {
  it('decode - frames after heart-beats, a binary body by its content-length', () => {
    const data = Buffer.concat([
      Buffer.from('\n\r\n'),
      Buffer.from(encodeFrame('MESSAGE', { a: '1' }, 'text')),
      encodeFrame('MESSAGE', { b: '2' }, Buffer.from([1, 0, 2])) as Buffer,
    ]);
    const frames = decodeFrames(data);
    expect(frames.map((frame) => [frame.command, frame.headers, [...frame.body]])).toEqual([
      ['MESSAGE', { a: '1' }, [...Buffer.from('text')]],
      ['MESSAGE', { b: '2', 'content-length': '3' }, [1, 0, 2]],
    ]);
  });

  it('decode - a content-length that is not a whole number of bytes is an error, not a loop', () => {
    for (const length of ['-23', '1.5', 'x', '']) {
      const data = Buffer.from(`\nX\ncontent-length:${length}\n\n\0`);
      expect(() => decodeFrames(data), length).toThrow(/bad content-length/);
    }
  });
});
