import { defineService, procedure, streamProcedure } from '@stomp-rpc/client';
import { describe, expect, it } from 'vitest';
import type { RpcRequest } from './request-intake.js';
import { serviceHandler } from './service-server.js';

const request = (body: string, procedureName?: string) =>
  ({ body, procedure: procedureName, signal: new AbortController().signal }) as RpcRequest;

/** Collects a streamed answer's item bodies. */
async function items(answer: unknown): Promise<string[]> {
  const bodies: string[] = [];
  for await (const body of answer as AsyncIterable<string>) bodies.push(body);
  return bodies;
}

describe('serviceHandler', () => {
  it('a handler returning a thenable that is not a native Promise (a query builder): its value is sent, not the thenable', async () => {
    const service = defineService({
      queue: 'q',
      defaultProcedure: 'get',
      procedures: { get: procedure({ input: (input) => input }) },
    });
    const handler = serviceHandler(service, {
      // biome-ignore lint/suspicious/noThenProperty: a thenable is what this test needs
      get: () => ({ then: (resolve: (value: unknown) => void) => resolve({ rows: 2 }) }) as never,
    });
    expect(await handler(request('{}'))).toBe('{"rows":2}');
  });

  it('a stream stopped before its first item still closes the iterable the handler returned', async () => {
    const service = defineService({
      queue: 'q',
      defaultProcedure: 'watch',
      procedures: { watch: streamProcedure({ input: (input) => input }) },
    });
    let closed = 0;
    // What events.on() returns, say: it holds a listener from the moment the handler made it.
    const watching = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<unknown>>(() => {}),
        return: async () => {
          closed++;
          return { value: undefined, done: true as const };
        },
      }),
    };
    const handler = serviceHandler(service, { watch: () => watching as never });
    const answer = (await handler(request('{}'))) as unknown as AsyncIterator<string>;
    await answer.return?.(); // the caller left, or the deadline passed, before any item
    expect(closed).toBe(1);
  });

  it('a codec that uses `this` encodes stream items as it encodes replies', async () => {
    class Tagged {
      readonly tag = 'T';
      encode(value: number): string {
        return `${this.tag}:${value}`;
      }
      decode(body: string): number {
        return Number(body.slice(2));
      }
    }
    const service = defineService({
      queue: 'q',
      procedures: {
        count: streamProcedure<number, number, number>({ input: (input) => input as number, output: new Tagged() }),
      },
    });
    const handler = serviceHandler(service, {
      count: async function* (to) {
        for (let n = 1; n <= to; n++) yield n;
      },
    });
    expect(await items(await handler(request('2', 'count')))).toEqual(['T:1', 'T:2']);
  });

  it('a procedure named like an Object.prototype member needs a handler of its own; a class’s methods are handlers', async () => {
    const service = defineService({ queue: 'q', procedures: { toString: procedure({ input: (input) => input }) } });
    expect(() => serviceHandler(service, {} as never)).toThrow(/no handler for procedure "toString"/);
    class Shop {
      toString(): string {
        return 'from the class';
      }
    }
    expect(await serviceHandler(service, new Shop())(request('{}', 'toString'))).toBe('"from the class"');
    // A class instance's `constructor` is the class: no handler, rather than INTERNAL on every call.
    const built = defineService({ queue: 'q', procedures: { constructor: procedure({ input: (input) => input }) } });
    expect(() => serviceHandler(built, new Shop() as never)).toThrow(/no handler for procedure "constructor"/);
    const own = { constructor: (input: unknown) => `own ${input}` };
    expect(await serviceHandler(built, own as never)(request('"x"', 'constructor'))).toBe('"own x"');
  });

  it('a class instance’s handlers are called as its methods: `this` is the instance', async () => {
    const service = defineService({
      queue: 'q',
      procedures: {
        stock: procedure({ input: (input) => input as { sku: string } }),
        skus: streamProcedure({ input: (input) => input }),
      },
    });
    class Inventory {
      readonly #counts = new Map([['A-1', 3]]);
      stock({ sku }: { sku: string }) {
        return this.#counts.get(sku) ?? 0;
      }
      *skus() {
        yield* this.#counts.keys();
      }
    }
    const handler = serviceHandler(service, new Inventory());
    expect(await handler(request('{"sku":"A-1"}', 'stock'))).toBe('3');
    expect(await items(await handler(request('null', 'skus')))).toEqual(['"A-1"']);
  });

  it('a streamed procedure whose handler returns no iterable (a string, a promise, nothing) is INTERNAL, saying what it returned', async () => {
    const service = defineService({
      queue: 'q',
      procedures: { letters: streamProcedure({ input: (input) => input }) },
    });
    for (const [returned, given] of [
      ['abc', 'string'],
      [Promise.resolve([1]), 'a promise'],
      [undefined, 'undefined'],
      [null, 'null'],
    ] as const) {
      const handler = serviceHandler(service, { letters: () => returned as never });
      await expect(async () => handler(request('null', 'letters'))).rejects.toMatchObject({
        code: 'INTERNAL',
        message: `the handler of letters returned ${given}, not an iterable of items`,
      });
    }
  });
});
