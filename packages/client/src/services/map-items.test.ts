import { describe, expect, it } from 'vitest';
import { mapItems } from './map-items.js';

/** A source whose reads wait until the test pushes an item; it records return() and throw(). */
function manualSource() {
  const waiting: ((result: IteratorResult<number>) => void)[] = [];
  const source = {
    returned: 0,
    thrown: [] as unknown[],
    push: (value: number) => waiting.shift()?.({ value, done: false }),
    [Symbol.asyncIterator]: () => ({
      next: () => new Promise<IteratorResult<number>>((resolve) => waiting.push(resolve)),
      return: async () => {
        source.returned++;
        for (const resolve of waiting.splice(0)) resolve({ value: undefined, done: true });
        return { value: undefined, done: true as const };
      },
      throw: async (error: unknown) => {
        source.thrown.push(error);
        return { value: undefined, done: true as const };
      },
    }),
  };
  return source;
}

describe('mapItems', () => {
  it('maps each item, and opens the source only at the first read', async () => {
    let opened = 0;
    const source = manualSource();
    const doubled = mapItems(
      () => {
        opened++;
        return source;
      },
      (n: number) => n * 2,
    );
    expect(opened).toBe(0);
    const first = doubled.next();
    source.push(21);
    expect(await first).toEqual({ value: 42, done: false });
    expect(opened).toBe(1);
  });

  it('eager - opens the source at once, so that return() before any read still closes it', async () => {
    const source = manualSource();
    const lazy = mapItems(
      () => source,
      (n: number) => n,
    );
    await lazy.return?.();
    expect(source.returned).toBe(0); // never opened: nothing to close
    const eager = mapItems(
      () => source,
      (n: number) => n,
      { eager: true },
    );
    await eager.return?.();
    expect(source.returned).toBe(1);
    expect(await eager.next()).toEqual({ value: undefined, done: true });
  });

  it('return() reaches the source at once, even while a read waits (an async generator would wait for the next item)', async () => {
    const source = manualSource();
    const mapped = mapItems(
      () => source,
      (n: number) => n,
    );
    const waiting = mapped.next();
    await Promise.resolve();
    await mapped.return?.();
    expect(source.returned).toBe(1);
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(await mapped.next()).toEqual({ value: undefined, done: true });
  });

  it('an item the map refuses: the read rejects with its error and the source is returned, once', async () => {
    const source = manualSource();
    const mapped = mapItems(
      () => source,
      (n: number) => {
        if (n < 0) throw new Error('negative');
        return n;
      },
    );
    const read = mapped.next();
    source.push(-1);
    await expect(read).rejects.toThrow('negative');
    expect(source.returned).toBe(1);
    expect(source.thrown).toEqual([]); // a handler's generator could catch it and go on
    await mapped.return?.();
    expect(source.returned).toBe(1);
  });

  it('throwToSource - the source hears the refusal through throw() instead (a reply stream then ends its call with it)', async () => {
    const source = manualSource();
    const refusal = new Error('not a number');
    const mapped = mapItems(
      () => source,
      (): number => {
        throw refusal;
      },
      { throwToSource: true },
    );
    const read = mapped.next();
    source.push(1);
    await expect(read).rejects.toBe(refusal);
    expect(source.thrown).toEqual([refusal]);
    await mapped.return?.();
    expect(source).toMatchObject({ returned: 0, thrown: [refusal] });
  });

  it("a caller's throw() closes the source (through its throw() with throwToSource) and rejects with the error, as a generator does", async () => {
    const failure = new Error('the consumer failed');
    const plain = manualSource();
    const mapped = mapItems(
      () => plain,
      (n: number) => n,
      { eager: true },
    );
    await expect(mapped.throw?.(failure)).rejects.toBe(failure);
    expect(plain).toMatchObject({ returned: 1, thrown: [] });
    const refusing = manualSource();
    const toSource = mapItems(
      () => refusing,
      (n: number) => n,
      { eager: true, throwToSource: true },
    );
    await expect(toSource.throw?.(failure)).rejects.toBe(failure);
    expect(refusing).toMatchObject({ returned: 0, thrown: [failure] });
    // An outer generator delegating to it with yield* stops there, with the caller's error.
    let after = false;
    async function* outer() {
      yield* mapItems(
        () => [1, 2],
        (n: number) => n,
      );
      after = true;
    }
    const generator = outer();
    expect((await generator.next()).value).toBe(1);
    await expect(generator.throw(failure)).rejects.toBe(failure);
    expect(after).toBe(false);
  });

  it('takes a plain iterable too, as `for await` does', async () => {
    const mapped = mapItems(
      () => [1, 2],
      (n: number) => n * 10,
    );
    const seen: number[] = [];
    for await (const n of mapped) seen.push(n);
    expect(seen).toEqual([10, 20]);
  });

  it('a source that cannot be opened: the first read rejects', async () => {
    const mapped = mapItems(
      () => {
        throw new Error('closed');
      },
      (n: number) => n,
    );
    await expect(mapped.next()).rejects.toThrow('closed');
  });
});
