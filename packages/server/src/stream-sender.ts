/*
 * Sends a streamed procedure's items (protocol `rpc-stream`): each as a reply marked `item` with
 * its number, then the end. Bounded: at most `maxStreamItems` items and `maxStreamBytes` of item
 * bodies (UTF-16 length, as the client counts them), and it stops as soon as the request
 * may no longer be answered (cancelled, past its deadline, connection gone), even while the
 * producer is still working on its next item. Every few items it
 * yields to the event loop, so heart-beats and cancel messages get through a fast producer.
 *
 * Back-pressure: when the broker takes the server's frames slower than the producer makes items
 * (its flow control, a memory alarm), what it has not taken waits in the socket. Past
 * MAX_BACKLOG_BYTES the stream stops pulling items until most of that is gone, so what waits is
 * bounded by that plus one item per stream under way (a pull under way when the socket filled),
 * not by `maxStreamBytes` times the streams.
 */
import { RpcError } from '@stomp-rpc/client';
import { Header, StreamMark } from '@stomp-rpc/client/protocol';
import { oversizedReply, type ReplyBound } from './reply-size.js';

/** Items sent between two yields to the event loop. */
const ITEMS_PER_TURN = 32;

/** Bytes the socket may hold for the broker before a stream waits for it. */
export const MAX_BACKLOG_BYTES = 1024 * 1024;
/** How often a waiting stream looks at the socket again. */
const BACKLOG_CHECK_MS = 10;

export interface StreamSink {
  /** Sends one reply with these extra headers; false when the connection is gone. */
  send(body: string, headers: Record<string, string>): boolean;
  /** Why the stream must stop now, if it must (cancelled, deadline, connection gone). */
  stopped(): RpcError | undefined;
  /** Awaits the producer's next item, or rejects when the request is stopped meanwhile. */
  within<T>(work: Promise<T>): Promise<T>;
  /** Bytes sent that the broker has not taken yet. */
  backlog(): number;
}

/**
 * Sends `items`. Resolves with how many went out, for the end to carry, or with the error that
 * ended the stream early (the caller is sent that error unless the stream stopped because it may
 * not answer at all).
 */
export async function sendStream(
  items: AsyncIterable<string>,
  {
    maxStreamItems,
    maxStreamBytes,
    replyBound,
  }: { maxStreamItems: number; maxStreamBytes: number; replyBound: ReplyBound },
  sink: StreamSink,
): Promise<RpcError | number> {
  // A handler in plain JavaScript (or an async one that forgot to return) may give anything.
  if (typeof (items as Partial<AsyncIterable<string>> | null)?.[Symbol.asyncIterator] !== 'function') {
    const given = items === null ? 'null' : Array.isArray(items) ? 'an array' : typeof items;
    return new RpcError('INTERNAL', `the handler returned ${given}, neither a string nor an async iterable`);
  }
  const iterator = items[Symbol.asyncIterator]();
  // As `for await`: return() only for a producer left before it finished (not after its last
  // item, nor after its next() threw), since a hand-written one may take return() for a stop.
  let open = true;
  const pull = () =>
    iterator.next().then(
      (next) => {
        if (next.done) open = false;
        return next;
      },
      (error: unknown) => {
        open = false;
        throw error;
      },
    );
  let sent = 0;
  let bytes = 0;
  try {
    for (;;) {
      // Before pulling, not only after sending: other streams share the socket and may have filled it.
      if (sink.backlog() > MAX_BACKLOG_BYTES) await drained(sink);
      const stop = sink.stopped();
      if (stop) return stop;
      const next = await sink.within(pull());
      // A producer that ends because its signal aborted has not finished: the stop is the answer.
      if (next.done) return sink.stopped() ?? sent;
      if (typeof next.value !== 'string') return new RpcError('INTERNAL', 'a stream item is not a string');
      if (sent === maxStreamItems) return overLimit(`${maxStreamItems} items`);
      bytes += next.value.length;
      if (bytes > maxStreamBytes) return overLimit(`${maxStreamBytes} bytes`);
      const oversized = oversizedReply(next.value, replyBound);
      if (oversized) return oversized;
      const headers = { [Header.stream]: StreamMark.item, [Header.sequence]: String(sent) };
      if (!sink.send(next.value, headers)) return new RpcError('CONNECTION_LOST', 'the connection dropped');
      sent++;
      if (sent % ITEMS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  } catch (error) {
    return RpcError.from(error);
  } finally {
    // Stopped early: the producer's finally blocks run (and free what it holds).
    if (open) void Promise.resolve(iterator.return?.()).catch(() => {});
  }
}

/** A stream's end: its mark, and how many items went before it (a run's own count, so that a caller tells a restart's end). */
export function streamEnd(sent: number): Record<string, string> {
  return { [Header.stream]: StreamMark.end, [Header.sequence]: String(sent) };
}

/** Waits until the broker has taken most of the backlog, or the stream must stop (checked next). */
async function drained(sink: StreamSink): Promise<void> {
  while (sink.backlog() > MAX_BACKLOG_BYTES / 4 && sink.stopped() === undefined) {
    await new Promise((resolve) => setTimeout(resolve, BACKLOG_CHECK_MS));
  }
}

function overLimit(what: string): RpcError {
  return new RpcError('INTERNAL', `the stream went past the server's ${what}`);
}
