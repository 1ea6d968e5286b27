/*
 * A stream's items through a codec, for the service client (decoding) and server (encoding). Not an
 * async generator: a generator queues return() behind a next() that waits, so a caller leaving a
 * stream (or a server stopping one) would not reach the source until its next item came, if ever.
 */

/**
 * The items of the iterable `open()` returns, each through `map`. It is opened at the first read,
 * so a stream that is never read is never started (the client: no request goes); `eager` opens it
 * at once, so that return() closes it even if nothing was read (the server: a handler's iterable
 * may hold what it set up, listeners say). return() reaches the source at once, even while a read
 * waits; when `map` throws, the source is returned too and the read rejects with the error. With
 * `throwToSource`, the source's throw() gets that error instead (the client's reply stream then ends
 * its call with it, not as aborted); a handler's generator never does (it could catch it, go on).
 * A caller's throw() closes the source the same way, then rejects with its error.
 */
export function mapItems<T, U>(
  open: () => AsyncIterable<T> | Iterable<T>,
  map: (item: T) => U,
  { eager = false, throwToSource = false } = {},
): AsyncIterableIterator<U> {
  let source: AsyncIterator<T> | undefined = eager ? iteratorOf(open()) : undefined;
  let finished = false;
  const finish = async (error?: unknown): Promise<IteratorResult<U>> => {
    if (!finished) {
      finished = true;
      if (throwToSource && error !== undefined && source?.throw)
        await source.throw(error).catch(() => {}); // rejects with it
      else await source?.return?.();
    }
    return { value: undefined, done: true };
  };
  const mapped: AsyncIterableIterator<U> = {
    async next() {
      if (finished) return { value: undefined, done: true };
      source ??= iteratorOf(open());
      const result = await source.next();
      if (result.done) {
        finished = true;
        return { value: undefined, done: true };
      }
      try {
        return { value: map(result.value), done: false };
      } catch (error) {
        await finish(error);
        throw error;
      }
    },
    return: () => finish(),
    // The caller threw into it (an outer generator delegating with `yield*`): stop, then reject.
    async throw(error: unknown) {
      await finish(error);
      throw error;
    },
    [Symbol.asyncIterator]: () => mapped,
  };
  return mapped;
}

/** An async iterator over either kind of iterable (a handler may return an array: `for await` takes one). */
function iteratorOf<T>(items: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in items) return items[Symbol.asyncIterator]();
  const iterator = items[Symbol.iterator]();
  return {
    // Each value awaited, as `for await` awaits a plain iterable's.
    next: async () => {
      const result = iterator.next();
      return result.done ? result : { value: await result.value, done: false };
    },
    return: async () => iterator.return?.() ?? { value: undefined, done: true },
  };
}
