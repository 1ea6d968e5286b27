/*
 * The caller's side of a streamed procedure: the items a server sends before its end, as an async
 * iterator. Every stream is bounded: by the call's deadline (time), by `maxItems` and by
 * `maxBytes` (LIMIT_EXCEEDED). Items wait here until the caller reads them, never more than those
 * bounds. When the caller stops reading early (break, return) or aborts, the call is aborted,
 * which tells the server to stop producing (protocol CANCEL_TOPIC); so does throw(), with its error.
 */
import { RpcError } from '../errors.js';
import { checkCount, checkSignal } from '../options.js';
import type { ErrorCode } from '../protocol/error-codes.js';
import { abortError, EndWith } from './pending-calls.js';
import type { RpcReply } from './rpc-client.js';

export interface StreamLimits {
  /** Items after which the stream ends with LIMIT_EXCEEDED. @default 10000 */
  maxItems?: number | undefined;
  /**
   * Bytes of items (UTF-16 length of their bodies and headers: the memory they hold) after which
   * the stream ends with LIMIT_EXCEEDED. @default 16777216
   */
  maxBytes?: number | undefined;
}

export const STREAM_DEFAULTS = { maxItems: 10_000, maxBytes: 16 * 1024 * 1024 } as const;

/** Hands an item of the call to its stream: the error to end the call with, past a limit. */
export type ItemPush = (item: RpcReply) => RpcError | undefined;

/** The client's counters a stream tells: a stream refused at the start, an answered call whose reader refused an item. */
interface StreamStats {
  failed(code: ErrorCode): void;
  refused(code: ErrorCode): void;
}

type Waiter = { resolve: (result: IteratorResult<RpcReply>) => void; reject: (error: unknown) => void };

export class ReplyStream implements AsyncIterableIterator<RpcReply> {
  /** Aborts the call: the caller's own signal, or the caller stopping early. */
  readonly #abort = new AbortController();
  readonly #maxItems: number;
  readonly #maxBytes: number;
  readonly #items: RpcReply[] = [];
  /** Reads waiting for an item, oldest first (a caller may ask for several before one arrives). */
  readonly #waiters: Waiter[] = [];
  #received = 0;
  #bytes = 0;
  /** Set once the call ended: done, or the error to throw after the items already here. */
  #end: { error?: unknown } | undefined;
  readonly #callerSignal: AbortSignal | undefined;
  #stopFollowingCaller: (() => void) | undefined;
  /** The call's end, once followed; and the client's counters, told of a refusal after a success. */
  #settled: Promise<unknown> | undefined;
  #stats: StreamStats | undefined;
  /** The reader saw the end, or left: a throw() then refuses nothing it was handed. */
  #readerDone = false;

  /**
   * The stream of the call `start` makes with the stream's signal, its items pushed into it. Bad
   * limits end it with their INVALID_ARGUMENT at the first read, as bad options end a call.
   */
  static open(
    options: StreamLimits & { signal?: AbortSignal },
    start: (signal: AbortSignal, push: ItemPush) => Promise<unknown>,
    stats?: StreamStats,
  ): ReplyStream {
    let stream: ReplyStream;
    try {
      stream = new ReplyStream(options, options.signal);
    } catch (error) {
      if (error instanceof RpcError) stats?.failed(error.code); // as a call with bad options is
      stream = new ReplyStream({}, undefined);
      stream.follow(Promise.reject(error));
      return stream;
    }
    stream.#stats = stats;
    stream.follow(start(stream.signal, (item) => stream.push(item)));
    return stream;
  }

  constructor(limits: StreamLimits, signal: AbortSignal | undefined) {
    this.#maxItems = checkCount(limits.maxItems ?? STREAM_DEFAULTS.maxItems, 'maxItems');
    this.#maxBytes = checkCount(limits.maxBytes ?? STREAM_DEFAULTS.maxBytes, 'maxBytes');
    const callerSignal = checkSignal(signal);
    this.#callerSignal = callerSignal;
    if (callerSignal === undefined) return;
    const onAbort = () => {
      this.#items.length = 0; // "at once", as for a plain call: no item read after the abort
      this.#abort.abort(callerSignal.reason);
    };
    if (callerSignal.aborted) onAbort();
    callerSignal.addEventListener('abort', onAbort, { once: true });
    this.#stopFollowingCaller = () => callerSignal.removeEventListener('abort', onAbort);
  }

  /** The signal the call runs with. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /**
   * An item arrived. Past a limit the stream ends, and the error returned is the one the call must
   * end with (the caller is told the server to stop, as when it leaves early).
   */
  push(item: RpcReply): RpcError | undefined {
    if (this.#end) return undefined;
    this.#received++;
    this.#bytes += item.body.length;
    for (const [name, value] of Object.entries(item.headers)) this.#bytes += name.length + value.length;
    if (this.#received > this.#maxItems || this.#bytes > this.#maxBytes) {
      const what = this.#received > this.#maxItems ? `${this.#maxItems} items` : `${this.#maxBytes} bytes`;
      const error = new RpcError('LIMIT_EXCEEDED', `the stream went past ${what}`);
      this.#finish({ error });
      return error;
    }
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve({ value: item, done: false });
    else this.#items.push(item);
    return undefined;
  }

  /** Follows the call: its end ends the stream (after the items already here). */
  follow(settled: Promise<unknown>): void {
    this.#settled = settled;
    settled.then(
      () => this.#finish({}),
      (error: unknown) => this.#finish({ error }),
    );
  }

  next(): Promise<IteratorResult<RpcReply>> {
    if (this.#end && !this.#readerDone && this.#callerSignal?.aborted) this.#abortedAfterEnd(this.#callerSignal);
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.#end) {
      const { error } = this.#end;
      this.#end = {}; // an error is thrown once; after it the stream is just done
      this.#readerDone = true;
      return error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    });
  }

  /** The caller stopped reading: the call is aborted, so the server stops too. Done from now on. */
  return(): Promise<IteratorResult<RpcReply>> {
    this.#readerDone = true;
    this.#items.length = 0;
    if (!this.#end) this.#abort.abort(new Error('the caller stopped reading the stream'));
    this.#end = {}; // even when an error waited to be read: the caller left before reading it
    for (const waiter of this.#waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  /**
   * The reader refused an item it was handed (a service client's decoder): the call ends with that
   * error, counted under its code, not as aborted; the server stops as on return(). Done from now on.
   * Rejects with `error`, as a generator that does not catch it would: an outer generator that
   * delegates to this stream (`yield*`) stops there rather than going on as if it had ended.
   */
  throw(error: unknown): Promise<IteratorResult<RpcReply>> {
    // Anything but an RpcError is the reader's own failure: the call is aborted, as on return().
    if (error instanceof RpcError) this.#refused(error);
    void this.return();
    return Promise.reject(error);
  }

  #refused(error: RpcError): void {
    // Still running, the call ends with it. Answered already (its end came before the reader got
    // there), it was counted as a success: counted as the refusal instead, once.
    if (!this.#end) this.#abort.abort(new EndWith(error));
    if (!this.#readerDone) {
      void this.#settled?.then(
        () => this.#stats?.refused(error.code),
        () => {},
      );
    }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<RpcReply> {
    return this;
  }

  /**
   * The caller aborted after the call's end came (its listener is gone with the call) and before
   * reading all of it: ABORTED at once all the same, the items left unread. Counted so once it was
   * counted a success.
   */
  #abortedAfterEnd(callerSignal: AbortSignal): void {
    const answered = this.#end?.error === undefined;
    this.#items.length = 0;
    this.#end = { error: abortError(callerSignal) };
    if (answered)
      void this.#settled?.then(
        () => this.#stats?.refused('ABORTED'),
        () => {},
      );
  }

  #finish(end: { error?: unknown }): void {
    this.#stopFollowingCaller?.();
    if (this.#end) return;
    this.#end = end;
    const waiters = this.#waiters.splice(0);
    if (waiters.length > 0) this.#readerDone = true; // a waiting read is handed the end
    if (end.error !== undefined && waiters.length > 0) {
      this.#end = {}; // thrown once, to the oldest read; the others are just done
      waiters.shift()?.reject(end.error);
    }
    for (const waiter of waiters) waiter.resolve({ value: undefined, done: true });
  }
}
