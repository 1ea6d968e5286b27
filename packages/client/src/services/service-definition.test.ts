import * as v from 'valibot';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { RpcError } from '../errors.js';
import { checkRange, fibonacciService, MAX_SEQUENCE_LENGTH } from './fibonacci-definition.js';
import type { ProcedureMethods } from './service-client.js';
import {
  type CheckedOf,
  checkInput,
  defineService,
  type InputOf,
  json,
  type OutputOf,
  type ProcedureNames,
  type ProceduresOf,
  procedure,
  procedureOf,
  type StandardSchemaV1,
  streamProcedure,
} from './service-definition.js';

const shop = defineService({
  queue: 'shop',
  defaultProcedure: 'price',
  procedures: {
    price: procedure({ input: v.object({ sku: v.pipe(v.string(), v.minLength(3)) }) }),
    quote: procedure<{ qty: number }, { total: number }>({
      input: (input) => {
        const qty = (input as { qty?: unknown }).qty;
        if (typeof qty !== 'number' || qty < 1) throw new Error('qty must be at least 1');
        return { qty };
      },
    }),
    watch: streamProcedure<{ sku: string }, { price: number }>({
      input: (input) => input as { sku: string },
    }),
  },
});

/** A Standard Schema whose validation is asynchronous, as some libraries' refinements are. */
const slowEven: StandardSchemaV1<number, number> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: async (value) =>
      typeof value === 'number' && value % 2 === 0
        ? { value }
        : { issues: [{ message: 'not even', path: [{ key: 'n' }] }] },
  },
};

async function rejection(run: () => unknown): Promise<RpcError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof RpcError) return error;
    throw error;
  }
  throw new Error('expected an RpcError');
}

describe('services - definition', () => {
  it('infers each procedure’s input, checked input and output from a schema or the type arguments', () => {
    type Procedures = typeof shop.procedures;
    expectTypeOf<InputOf<Procedures['price']>>().toEqualTypeOf<{ sku: string }>();
    expectTypeOf<CheckedOf<Procedures['quote']>>().toEqualTypeOf<{ qty: number }>();
    expectTypeOf<OutputOf<Procedures['quote']>>().toEqualTypeOf<{ total: number }>();
    const methods = {} as ProcedureMethods<typeof shop>;
    expectTypeOf(methods.quote).returns.toEqualTypeOf<Promise<{ total: number }>>();
    expectTypeOf(methods.watch).returns.toEqualTypeOf<AsyncIterableIterator<{ price: number }>>();
    expectTypeOf<InputOf<(typeof fibonacciService.procedures)['fib']>>().toEqualTypeOf<number | bigint | string>();
  });

  it('types - ProcedureNames and ProceduresOf name a definition’s procedures by kind, for code that wraps call() and stream()', () => {
    expectTypeOf<ProcedureNames<typeof fibonacciService, 'call'>>().toEqualTypeOf<'fib'>();
    expectTypeOf<ProcedureNames<typeof fibonacciService, 'stream'>>().toEqualTypeOf<'fibSequence'>();
    expectTypeOf<ProcedureNames<typeof fibonacciService>>().toEqualTypeOf<'fib' | 'fibSequence'>();
    expectTypeOf<ProceduresOf<typeof shop>>().toEqualTypeOf<typeof shop.procedures>();
  });

  // Regression: inside defineService, a function's input and a missing output were `any`, taken
  // from its constraint: a caller's wrong input type-checked, and so did anything done with a reply.
  it('types - inside defineService, a function types the input by what it returns, and no output codec is unknown', () => {
    const isPoint = (value: unknown): { x: number; y: number } => value as { x: number; y: number };
    const geo = defineService({
      queue: 'geo',
      procedures: {
        norm: procedure({ input: isPoint, output: json<number>() }),
        echo: procedure({ input: v.object({ s: v.string() }) }),
        trace: streamProcedure({ input: isPoint }),
      },
    });
    type Procedures = typeof geo.procedures;
    expectTypeOf<InputOf<Procedures['norm']>>().toEqualTypeOf<{ x: number; y: number }>();
    expectTypeOf<OutputOf<Procedures['norm']>>().toEqualTypeOf<number>();
    expectTypeOf<OutputOf<Procedures['echo']>>().toEqualTypeOf<unknown>();
    expectTypeOf<OutputOf<Procedures['trace']>>().toEqualTypeOf<unknown>();
    const methods = {} as ProcedureMethods<typeof geo>;
    expectTypeOf(methods.norm).parameter(0).toEqualTypeOf<{ x: number; y: number }>();
    expect(geo.procedures.norm.kind).toBe('call');
  });

  it('checkInput - a Standard Schema’s issues become INVALID_ARGUMENT with their paths; the value comes back checked', async () => {
    const price = shop.procedures.price;
    expect(checkInput(price, '{"sku":"abcd"}')).toEqual({ sku: 'abcd' }); // synchronous for a synchronous schema
    const error = await rejection(() => checkInput(price, '{"sku":"ab"}'));
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(error.message).toMatch(/^sku: Invalid length/);
    expect(await rejection(() => checkInput(price, '{not json'))).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('checkInput - an asynchronous schema and a plain function validate too', async () => {
    const even = procedure({ input: slowEven });
    await expect(checkInput(even, '4')).resolves.toBe(4);
    const error = await rejection(() => checkInput(even, '5'));
    expect(error.message).toBe('n: not even');
    expect(checkInput(shop.procedures.quote, '{"qty":2}')).toEqual({ qty: 2 });
    expect(await rejection(() => checkInput(shop.procedures.quote, '{"qty":0}'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'qty must be at least 1',
    });
  });

  it('types - a schema that is also a function (as ArkType’s are) types the handler’s input by the schema alone', () => {
    // ArkType's types are callable, returning the value or their errors; TypeScript would infer the
    // checked type from both the schema and the call signature.
    interface ArkErrorsLike {
      readonly summary: string;
    }
    const arkLike = Object.assign((data: unknown): { a: number } | ArkErrorsLike => data as { a: number }, {
      '~standard': {
        version: 1 as const,
        vendor: 'test',
        validate: (value: unknown) => ({ value: value as { a: number } }),
        types: undefined as { input: { a: number }; output: { a: number } } | undefined,
      },
    });
    const call = procedure({ input: arkLike });
    const stream = streamProcedure({ input: arkLike });
    expectTypeOf<CheckedOf<typeof call>>().toEqualTypeOf<{ a: number }>();
    expectTypeOf<InputOf<typeof call>>().toEqualTypeOf<{ a: number }>();
    expectTypeOf<CheckedOf<typeof stream>>().toEqualTypeOf<{ a: number }>();
    // A plain function still types the handler by what it returns, a promise's value for an async one.
    const plain = procedure({ input: (value: unknown) => Number(value) });
    const async = procedure({ input: async (value: unknown) => String(value) });
    expectTypeOf<CheckedOf<typeof plain>>().toEqualTypeOf<number>();
    expectTypeOf<CheckedOf<typeof async>>().toEqualTypeOf<string>();
    expect(call.kind).toBe('call');
  });

  it('checkInput - a body its codec cannot read is INVALID_ARGUMENT, with the codec’s own RpcError kept as it is', async () => {
    const codec = (decode: (body: string) => unknown) =>
      procedure({ input: (input: unknown) => input, inputCodec: { encode: String, decode } });
    const unreadable = codec(() => {
      throw new SyntaxError('not JSON');
    });
    expect(await rejection(() => checkInput(unreadable, 'x'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'the request body cannot be read: not JSON',
    });
    const tooLarge = codec(() => {
      throw new RpcError('INVALID_ARGUMENT', 'at most 10 items');
    });
    expect(await rejection(() => checkInput(tooLarge, 'x'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'at most 10 items',
    });
  });

  it('checkInput - a schema that is also a function (as ArkType’s are) is used as a schema, not called', async () => {
    const callable = Object.assign(() => ({ errors: 'returned, not thrown' }), {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (value: unknown) => (value === 1 ? { value } : { issues: [{ message: 'not 1' }] }),
      },
    }) as unknown as StandardSchemaV1<number, number>;
    const one = procedure({ input: callable });
    expect(checkInput(one, '1')).toBe(1);
    expect(await rejection(() => checkInput(one, '2'))).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'not 1' });
  });

  it('checkInput - a validator that throws a value String() cannot convert is INVALID_ARGUMENT still, not a TypeError', async () => {
    const odd = procedure({
      input: (_input: unknown): number => {
        throw Object.create(null);
      },
    });
    expect(await rejection(() => checkInput(odd, '3'))).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('checkInput - an async function validator: its value, or INVALID_ARGUMENT when it rejects; the handler’s type is the value, not a promise', async () => {
    const positive = procedure({
      input: async (input: unknown) => {
        if (typeof input !== 'number' || input <= 0) throw new Error('must be positive');
        return input;
      },
    });
    expectTypeOf<CheckedOf<typeof positive>>().toEqualTypeOf<number>();
    await expect(checkInput(positive, '3')).resolves.toBe(3);
    expect(await rejection(() => checkInput(positive, '-3'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'must be positive',
    });
  });

  it('checkInput - a schema’s thenable result (not a native Promise) and odd issue paths are read, not passed or crashed on', async () => {
    const thenable: StandardSchemaV1<unknown, unknown> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: () =>
          ({
            // biome-ignore lint/suspicious/noThenProperty: a thenable is what this test needs
            then: (resolve: (result: unknown) => void) =>
              resolve({ issues: [{ message: 'bad', path: [null, { key: 'a' }, 0] }] }),
          }) as never,
      },
    };
    expect(await rejection(() => checkInput(procedure({ input: thenable }), '{}'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'null.a.0: bad',
    });
  });

  it('checkInput - a schema’s issues without messages still say something, past five are counted; a schema that throws is INTERNAL, not the caller’s fault', async () => {
    const schema = (validate: StandardSchemaV1['~standard']['validate']) =>
      procedure({ input: { '~standard': { version: 1, vendor: 'test', validate } } });
    const issues = (list: { message: string; path?: PropertyKey[] }[]) => schema(() => ({ issues: list }));
    expect(await rejection(() => checkInput(issues([]), '1'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'invalid input',
    });
    expect(await rejection(() => checkInput(issues([{ message: '', path: ['a', 0] }]), '1'))).toMatchObject({
      message: 'a.0: invalid',
    });
    const seven = Array.from({ length: 7 }, (_, i) => ({ message: `bad ${i}` }));
    expect((await rejection(() => checkInput(issues(seven), '1'))).message).toBe(
      'bad 0; bad 1; bad 2; bad 3; bad 4 (and 2 more)',
    );
    const throwing = schema(() => {
      throw new TypeError('cannot read x of undefined');
    });
    expect(await rejection(() => checkInput(throwing, '1'))).toMatchObject({
      code: 'INTERNAL',
      message: "the input's schema failed: cannot read x of undefined",
    });
    const rejecting = schema(() => Promise.reject(new Error('lost its database')));
    expect(await rejection(() => checkInput(rejecting, '1'))).toMatchObject({
      code: 'INTERNAL',
      message: "the input's schema failed: lost its database",
    });
  });

  it('types - with an input codec, the schema checks what the codec decodes: its input type need not be the caller’s', () => {
    const when = procedure({
      input: v.pipe(
        v.string(),
        v.isoTimestamp(),
        v.transform((text) => new Date(text)),
      ),
      inputCodec: { encode: (at: Date) => JSON.stringify(at.toISOString()), decode: (body) => JSON.parse(body) },
    });
    expectTypeOf<InputOf<typeof when>>().toEqualTypeOf<Date>();
    expectTypeOf<CheckedOf<typeof when>>().toEqualTypeOf<Date>();
    const plain = procedure({ input: v.object({ sku: v.string() }) });
    expectTypeOf<InputOf<typeof plain>>().toEqualTypeOf<{ sku: string }>();
  });

  it('json - undefined travels as the empty body and comes back undefined', () => {
    const codec = procedure({ input: (input) => input }).input;
    expect(codec.encode(undefined)).toBe('');
    expect(codec.decode('')).toBeUndefined();
    expect(codec.decode(codec.encode({ a: 1 }))).toEqual({ a: 1 });
  });

  it('routing - a named procedure, the default for none, undefined for an unknown or inherited name', () => {
    expect(procedureOf(shop, 'quote')?.name).toBe('quote');
    expect(procedureOf(shop, undefined)?.name).toBe('price');
    expect(procedureOf(shop, 'nope')).toBeUndefined();
    expect(procedureOf(shop, 'toString')).toBeUndefined();
    expect(procedureOf({ ...shop, defaultProcedure: undefined }, undefined)).toBeUndefined();
  });

  it('defineService - refuses a bad procedure name and a default that is not a procedure', () => {
    const any = procedure({ input: (input) => input });
    expect(() => defineService({ queue: 'q', procedures: { 'a b': any } })).toThrow(/procedure names/);
    expect(() => defineService({ queue: 'q', procedures: { a: any }, defaultProcedure: 'b' as 'a' })).toThrow(
      /not a procedure/,
    );
  });

  // From JavaScript: a procedure without a validator failed every request as the caller's INVALID_ARGUMENT.
  it('defineService - refuses, naming the procedure, what procedure() did not make whole: no input, a codec without encode/decode; and a bad queue', () => {
    const refused = (definition: unknown) => {
      try {
        defineService(definition as Parameters<typeof defineService>[0]);
      } catch (error) {
        return error instanceof RpcError ? `${error.code}: ${error.message}` : String(error);
      }
      return 'accepted';
    };
    const ok = procedure({ input: (input) => input });
    expect(refused({ queue: 'q', procedures: { a: procedure({} as never) } })).toMatch(
      /^INVALID_ARGUMENT: procedure "a" needs `input`/,
    );
    expect(refused({ queue: 'q', procedures: { a: procedure({ input: 'nope' } as never) } })).toMatch(
      /"a" needs `input`/,
    );
    expect(refused({ queue: 'q', procedures: { a: { kind: 'call' } } })).toMatch(/"a" needs `input`/);
    expect(refused({ queue: 'q', procedures: { a: { validate: ok.validate } } })).toMatch(
      /"a" is not made by procedure/,
    );
    expect(refused({ queue: 'q', procedures: { a: procedure({ input: ok.validate, output: {} } as never) } })).toMatch(
      /"a" has an `inputCodec` or `output` without encode\(\) and decode\(\)/,
    );
    expect(refused({ queue: 'q' })).toMatch(/^INVALID_ARGUMENT: a service needs procedures/);
    expect(refused({ queue: 'has/slash', procedures: { a: ok } })).toMatch(/^INVALID_ARGUMENT: queue /);
    expect(refused({ queue: 'q', procedures: { a: ok, b: streamProcedure({ input: v.string() }) } })).toBe('accepted');
  });

  it('fibonacci - fib keeps the tutorial’s decimal bodies; fibSequence items carry the value as decimal text', () => {
    const { fib, fibSequence } = fibonacciService.procedures;
    expect(fib.input.encode(30)).toBe('30');
    expect(() => fib.input.encode(-1)).toThrow(RpcError);
    expect(fib.output.encode(832040n)).toBe('832040');
    expect(fib.output.decode('832040')).toBe(832040n);
    expect(fibonacciService.defaultProcedure).toBe('fib');
    const item = fibSequence.output.encode({ n: 100, value: 354224848179261915075n });
    expect(item).toBe('{"n":100,"value":"354224848179261915075"}');
    expect(fibSequence.output.decode(item)).toEqual({ n: 100, value: 354224848179261915075n });
    expect(() => fibSequence.output.decode('{"n":1,"value":"1e3"}')).toThrow(/expected fib\(1\) in decimal/);
    expect(() => fibSequence.output.decode('{"n":"1","value":"1"}')).toThrow(/not a Fibonacci item/);
  });

  it('fibonacci - checkRange bounds the range, its length and the pause', () => {
    expect(checkRange({ from: 3, to: 5 })).toEqual({ from: 3, to: 5, pauseMs: 0 });
    expect(checkRange({ from: 0, to: 300, pauseMs: 100 })).toEqual({ from: 0, to: 300, pauseMs: 100 });
    expect(checkRange({ from: 10, to: 40, pauseMs: 1000 })).toEqual({ from: 10, to: 40, pauseMs: 1000 });
    expect(checkRange({ from: 0, to: 999 })).toEqual({ from: 0, to: 999, pauseMs: 0 });
    for (const bad of [
      { from: 5, to: 4 },
      { from: -1, to: 4 },
      { from: 0, to: 20_001 },
      { from: 0, to: MAX_SEQUENCE_LENGTH },
      { from: 0, to: 1, pauseMs: 1001 },
      { from: 0, to: 31, pauseMs: 1000 }, // 31 pauses of a second: 30,000 ms is the most
      { from: 0, to: 301, pauseMs: 100 },
      null,
    ]) {
      expect(() => checkRange(bad)).toThrow(RpcError);
    }
  });
});
