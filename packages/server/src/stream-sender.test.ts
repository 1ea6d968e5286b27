import { RpcError } from '@stomp-rpc/client';
import { Header, StreamMark } from '@stomp-rpc/client/protocol';
import { describe, expect, it } from 'vitest';
import { RequestControl } from './request-control.js';
import { MAX_BACKLOG_BYTES, sendStream } from './stream-sender.js';

async function* numbers(count: number, finished: { value: boolean } = { value: false }) {
  try {
    for (let n = 0; n < count; n++) yield String(n);
  } finally {
    finished.value = true;
  }
}

function sink(stopAfter = Number.POSITIVE_INFINITY, connected = true) {
  const sent: { body: string; headers: Record<string, string> }[] = [];
  return {
    sent,
    send: (body: string, headers: Record<string, string>) => {
      sent.push({ body, headers });
      return connected;
    },
    stopped: () => (sent.length >= stopAfter ? new RpcError('ABORTED', 'the caller cancelled the call') : undefined),
    within: <T>(work: Promise<T>) => work,
    backlog: () => 0,
  };
}

const limits = (maxStreamItems: number, maxStreamBytes = 1_000_000, maxReplyBytes = 1000) => ({
  maxStreamItems,
  maxStreamBytes,
  replyBound: { bytes: maxReplyBytes, label: `the server's maxReplyBytes (${maxReplyBytes})` },
});

describe('sendStream', () => {
  it('sends every item numbered from 0 and resolves with their count, for the end to carry', async () => {
    const target = sink();
    expect(await sendStream(numbers(40), limits(100), target)).toBe(40);
    expect(target.sent.map((reply) => reply.body)).toEqual(Array.from({ length: 40 }, (_, n) => String(n)));
    expect(target.sent[39]?.headers).toEqual({ [Header.stream]: StreamMark.item, [Header.sequence]: '39' });
  });

  it('a handler that returned neither a string nor an async iterable: INTERNAL saying so, nothing sent', async () => {
    for (const [given, said] of [
      [undefined, 'undefined'],
      [null, 'null'],
      [42, 'number'],
      [['1'], 'an array'],
      [{}, 'object'],
    ] as const) {
      const target = sink();
      const failure = await sendStream(given as never, limits(100), target);
      expect(failure).toMatchObject({
        code: 'INTERNAL',
        message: `the handler returned ${said}, neither a string nor an async iterable`,
      });
      expect(target.sent).toEqual([]);
    }
  });

  it('an item over maxReplyBytes (UTF-8) ends the stream with INTERNAL before it is sent: a frame over the broker’s limit would close the connection', async () => {
    async function* growing() {
      yield 'x'.repeat(10);
      yield 'é'.repeat(5); // 10 bytes: still within
      yield 'é'.repeat(6);
    }
    const target = sink();
    expect(await sendStream(growing(), limits(100, 1000, 10), target)).toMatchObject({
      code: 'INTERNAL',
      message: "the reply is 12 bytes, over the server's maxReplyBytes (10)",
    });
    expect(target.sent.map((reply) => reply.body.length)).toEqual([10, 5]);
  });

  it('stops when told, and the producer is finished (its finally runs)', async () => {
    const target = sink(3);
    const finished = { value: false };
    expect(await sendStream(numbers(1000, finished), limits(10_000), target)).toMatchObject({ code: 'ABORTED' });
    expect(target.sent).toHaveLength(3);
    await Promise.resolve();
    expect(finished.value).toBe(true);
  });

  it('a hand-written producer is told return() only when left early: not after its last item, nor after its next() threw', async () => {
    const producer = (items: string[], fail = false) => {
      const calls = { returned: 0 };
      let at = 0;
      const iterator: AsyncIterator<string> = {
        next: async () => {
          if (at < items.length) return { done: false, value: items[at++] as string };
          if (fail) throw new RpcError('INVALID_ARGUMENT', 'n too large');
          return { done: true, value: undefined };
        },
        return: async () => {
          calls.returned++;
          return { done: true, value: undefined };
        },
      };
      return { calls, items: { [Symbol.asyncIterator]: () => iterator } };
    };
    const finished = producer(['a', 'b']);
    expect(await sendStream(finished.items, limits(10), sink())).toBe(2);
    const failed = producer(['a'], true);
    expect(await sendStream(failed.items, limits(10), sink())).toMatchObject({ code: 'INVALID_ARGUMENT' });
    const left = producer(['a', 'b', 'c']);
    expect(await sendStream(left.items, limits(10), sink(1))).toMatchObject({ code: 'ABORTED' });
    await Promise.resolve();
    expect([finished.calls.returned, failed.calls.returned, left.calls.returned]).toEqual([0, 0, 1]);
  });

  it('past maxStreamItems or maxStreamBytes it ends with INTERNAL; a producer that throws ends with its error; a lost connection with CONNECTION_LOST', async () => {
    expect(await sendStream(numbers(5), limits(4), sink())).toMatchObject({ code: 'INTERNAL' });
    const tooBig = sink();
    expect(await sendStream(numbers(20), limits(100, 20), tooBig)).toMatchObject({ code: 'INTERNAL' });
    expect(tooBig.sent.map((reply) => reply.body)).toEqual(Array.from({ length: 15 }, (_, n) => String(n)));
    async function* failing() {
      yield 'one';
      throw new RpcError('INVALID_ARGUMENT', 'n too large');
    }
    expect(await sendStream(failing(), limits(10), sink())).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await sendStream(numbers(5), limits(10), sink(Number.POSITIVE_INFINITY, false))).toMatchObject({
      code: 'CONNECTION_LOST',
    });
  });

  it('a producer stuck on its next item (its signal ignored) is left when the request stops, with the stop as the answer', async () => {
    const control = new RequestControl(Number.POSITIVE_INFINITY);
    async function* stuck() {
      yield 'first';
      await new Promise(() => {}); // never resolves, and never looks at a signal
    }
    const sent: string[] = [];
    const streaming = sendStream(stuck(), limits(10), {
      send: (body) => sent.push(body) > 0,
      stopped: () => control.reason,
      within: (work) => control.within(work),
      backlog: () => 0,
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toEqual(['first']);
    control.abort(new RpcError('ABORTED', 'the caller cancelled the call'));
    expect(await streaming).toMatchObject({ code: 'ABORTED' });
  });

  it('a producer that ends because the request stopped is not a finished stream: the stop is the answer', async () => {
    let stop: RpcError | undefined;
    async function* untilStopped() {
      yield 'first';
      stop = new RpcError('DEADLINE_EXCEEDED', "the caller's deadline passed"); // what its signal would say
    }
    const target = { ...sink(), stopped: () => stop };
    expect(await sendStream(untilStopped(), limits(10), target)).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(target.sent).toHaveLength(1);
  });

  it('an item that is not a string (an untyped handler) ends the stream with INTERNAL', async () => {
    async function* numbersAsNumbers() {
      yield 1 as unknown as string;
    }
    const target = sink();
    expect(await sendStream(numbersAsNumbers(), limits(10), target)).toMatchObject({
      code: 'INTERNAL',
      message: 'a stream item is not a string',
    });
    expect(target.sent).toEqual([]);
  });

  it('back-pressure: past MAX_BACKLOG_BYTES waiting for the broker it pulls no more items, until most of it is gone', async () => {
    let backlog = 0;
    let pulled = 0;
    async function* counted() {
      for (let n = 0; n < 100; n++) {
        pulled++;
        yield String(n);
      }
    }
    const target = { ...sink(), backlog: () => backlog };
    const send = target.send;
    target.send = (body, headers) => {
      if (body === '2') backlog = MAX_BACKLOG_BYTES + 1; // the broker stops reading
      return send(body, headers);
    };
    const streaming = sendStream(counted(), limits(1000), target);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(target.sent).toHaveLength(3);
    expect(pulled).toBe(3);
    backlog = MAX_BACKLOG_BYTES / 2; // taken in part: still waiting
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pulled).toBe(3);
    backlog = MAX_BACKLOG_BYTES / 8; // most of it is gone
    expect(await streaming).toBe(100);
    expect(target.sent).toHaveLength(100);
  });

  it('back-pressure: a stream starting while the socket is full (other streams filled it) pulls nothing, and ends as soon as it must stop', async () => {
    let stop: RpcError | undefined;
    let pulled = 0;
    async function* counted() {
      for (let n = 0; n < 100; n++) {
        pulled++;
        yield String(n);
      }
    }
    const target = { ...sink(), backlog: () => MAX_BACKLOG_BYTES * 2, stopped: () => stop };
    const streaming = sendStream(counted(), limits(1000), target);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(pulled).toBe(0);
    stop = new RpcError('ABORTED', 'the caller cancelled the call');
    expect(await streaming).toMatchObject({ code: 'ABORTED' });
    expect(target.sent).toEqual([]);
  });
});
