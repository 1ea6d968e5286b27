import { describe, expect, it } from 'vitest';
import { RpcError } from '../errors.js';
import { ReplyStream } from './reply-stream.js';
import type { RpcReply } from './rpc-client.js';

function item(body: string, headers: Record<string, string> = {}): RpcReply {
  return { body, headers, server: undefined, serverMs: undefined, latencyMs: 0, traceparent: undefined };
}

/** A promise the test settles: the call the stream follows. */
function call() {
  let end: { resolve: () => void; reject: (error: unknown) => void } = { resolve: () => {}, reject: () => {} };
  const settled = new Promise<void>((resolve, reject) => {
    end = { resolve, reject };
  });
  return { settled, end };
}

describe('ReplyStream', () => {
  it('items - read in order, those that came before the read first, then done when the call ends', async () => {
    const stream = new ReplyStream({}, undefined);
    const { settled, end } = call();
    stream.follow(settled);
    stream.push(item('a'));
    const [first, second] = [stream.next(), stream.next()]; // the second waits for its item
    stream.push(item('b'));
    expect((await first).value?.body).toBe('a');
    expect((await second).value?.body).toBe('b');
    end.resolve();
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('return - a read still waiting ends as done, and the call is aborted (the server is told)', async () => {
    const stream = new ReplyStream({}, undefined);
    const waiting = stream.next();
    await stream.return();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(stream.signal.aborted).toBe(true);
  });

  it('return - after the call failed, unread: later reads are done, not the error (the caller left before reading it)', async () => {
    const stream = new ReplyStream({}, undefined);
    const { settled, end } = call();
    stream.follow(settled);
    end.reject(new RpcError('TIMEOUT', 'no reply'));
    await settled.catch(() => {});
    expect(await stream.return()).toEqual({ value: undefined, done: true });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('open - bad limits end the stream with INVALID_ARGUMENT at its first read, and no call is made', async () => {
    let started = 0;
    const stream = ReplyStream.open({ maxItems: 0 }, () => {
      started++;
      return Promise.resolve();
    });
    await expect(stream.next()).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/maxItems/),
    });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect(started).toBe(0);
  });

  it('error - thrown once, to the oldest read waiting; the others, and later reads, are done', async () => {
    const stream = new ReplyStream({}, undefined);
    const { settled, end } = call();
    stream.follow(settled);
    const reads = [stream.next(), stream.next()];
    end.reject(new RpcError('TIMEOUT', 'no reply'));
    await expect(reads[0]).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(await reads[1]).toEqual({ value: undefined, done: true });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('limits - past maxItems the stream ends with LIMIT_EXCEEDED after the items within it, the error the call ends with', async () => {
    const stream = new ReplyStream({ maxItems: 2 }, undefined);
    const refused = ['a', 'b', 'c'].map((body) => stream.push(item(body)));
    expect(refused.map((error) => error?.code)).toEqual([undefined, undefined, 'LIMIT_EXCEEDED']);
    expect((await stream.next()).value?.body).toBe('a');
    expect((await stream.next()).value?.body).toBe('b');
    await expect(stream.next()).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });

  // Regression: only bodies counted, so a server could fill a caller that reads slowly with items of
  // empty bodies and huge headers (10,000 items of a frame's 256 KiB) without reaching maxBytes.
  it('limits - maxBytes counts each item’s headers with its body: what the items hold', async () => {
    const stream = new ReplyStream({ maxBytes: 100 }, undefined);
    const headers = { 'x-padding': 'p'.repeat(40) }; // 9 + 40 characters
    const refused = ['a', 'b', 'c'].map((body) => stream.push(item(body, headers)));
    expect(refused.map((error) => error?.code)).toEqual([undefined, undefined, 'LIMIT_EXCEEDED']);
    expect((await stream.next()).value?.body).toBe('a');
    expect((await stream.next()).value?.body).toBe('b');
    await expect(stream.next()).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
      message: expect.stringContaining('100 bytes'),
    });
  });

  it('signal - the caller’s abort aborts the call', () => {
    const caller = new AbortController();
    const stream = new ReplyStream({}, caller.signal);
    caller.abort(new Error('user left'));
    expect(stream.signal.aborted).toBe(true);
  });

  describe('throw - a reader refusing an item of a call already answered', () => {
    /** A stream over a call the test ends; `refused` records what the client's counters are told. */
    function answered() {
      const refused: string[] = [];
      const { settled, end } = call();
      let push: (reply: RpcReply) => RpcError | undefined = () => undefined;
      const stream = ReplyStream.open(
        {},
        (_signal, pushItem) => {
          push = pushItem;
          return settled;
        },
        { refused: (code) => refused.push(code), failed: (code) => refused.push(`failed ${code}`) },
      );
      return { stream, refused, push: (body: string) => push(item(body)), end };
    }
    const settle = () => new Promise((resolve) => setImmediate(resolve));

    it('is counted as its error instead of a success, once, however often throw() is called', async () => {
      const { stream, refused, push, end } = answered();
      push('bad');
      end.resolve();
      await settle();
      expect((await stream.next()).value?.body).toBe('bad');
      const refusal = new RpcError('BAD_REPLY', 'cannot read it');
      await expect(stream.throw(refusal)).rejects.toBe(refusal); // as a generator that does not catch it
      await expect(stream.throw(new RpcError('BAD_REPLY', 'again'))).rejects.toMatchObject({ message: 'again' });
      await settle();
      expect(refused).toEqual(['BAD_REPLY']);
    });

    it('counts nothing once the reader saw the end, or threw something that is no refusal', async () => {
      const seenEnd = answered();
      seenEnd.end.resolve();
      expect((await seenEnd.stream.next()).done).toBe(true);
      await expect(seenEnd.stream.throw(new RpcError('BAD_REPLY', 'after the end'))).rejects.toThrow('after the end');
      const notAnRpcError = answered();
      notAnRpcError.push('x');
      notAnRpcError.end.resolve();
      await notAnRpcError.stream.next();
      await expect(notAnRpcError.stream.throw(new Error('an outer generator was thrown into'))).rejects.toThrow(
        'an outer generator was thrown into',
      );
      await settle();
      expect([...seenEnd.refused, ...notAnRpcError.refused]).toEqual([]);
    });

    it('a call that failed is not counted again', async () => {
      const { stream, refused, push, end } = answered();
      push('x');
      end.reject(new RpcError('LIMIT_EXCEEDED', 'too many'));
      await stream.next();
      await expect(stream.throw(new RpcError('BAD_REPLY', 'cannot read it'))).rejects.toThrow('cannot read it');
      await settle();
      expect(refused).toEqual([]);
    });
  });
});
