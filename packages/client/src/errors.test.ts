import { describe, expect, expectTypeOf, it } from 'vitest';
import { isRpcError, RpcError } from './errors.js';

describe('RpcError', () => {
  it('keeps its code, origin and cause', () => {
    const cause = new Error('socket gone');
    const error = new RpcError('CONNECTION_LOST', 'lost', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(isRpcError(error)).toBe(true);
    expect(error).toMatchObject({ name: 'RpcError', code: 'CONNECTION_LOST', remote: false, cause });
  });

  it('from() passes RpcErrors through and wraps anything else with the fallback code', () => {
    const original = new RpcError('TIMEOUT', 'slow');
    expect(RpcError.from(original)).toBe(original);
    const wrapped = RpcError.from(new TypeError('bad'), 'INVALID_ARGUMENT');
    expect(wrapped).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'bad' });
    expect(RpcError.from('a string')).toMatchObject({ code: 'INTERNAL', message: 'a string' });
    // String() throws for these: from() must not, or a server's failure path throws in turn.
    expect(RpcError.from(Object.create(null)).message).toBe('[object Object]');
    expect(RpcError.from({ toString: () => ({}) }).message).toBe('[object Object]');
  });

  it('fromReply() marks server errors remote and maps unknown codes, and codes only a client raises, to INTERNAL', () => {
    expect(RpcError.fromReply('INVALID_ARGUMENT', 'n too big')).toMatchObject({
      code: 'INVALID_ARGUMENT',
      remote: true,
      message: 'n too big',
    });
    expect(RpcError.fromReply('QUOTA_EXCEEDED', 'later')).toMatchObject({
      code: 'INTERNAL',
      remote: true,
      message: 'QUOTA_EXCEEDED: later',
    });
    expect(RpcError.fromReply('TIMEOUT', 'no reply from /queue/db within 50 ms')).toMatchObject({
      code: 'INTERNAL',
      remote: true,
      message: 'TIMEOUT: no reply from /queue/db within 50 ms',
    });
    expect(RpcError.fromReply('DEADLINE_EXCEEDED', 'skipped').code).toBe('DEADLINE_EXCEEDED');
  });

  it('isRpcError() refuses look-alikes', () => {
    expect(isRpcError({ code: 'TIMEOUT', message: 'x' })).toBe(false);
    expect(isRpcError(new Error('x'))).toBe(false);
  });
});

describe('RpcError across copies of the package', () => {
  it('copies - an RpcError from another copy of the package is recognised, and keeps its code', async () => {
    // The query makes Vite load errors.ts a second time: another module, another RpcError class,
    // as when an application and the server package each have their own copy of the client.
    const specifier = './errors.js?another-copy'; // a variable: TypeScript cannot resolve the query
    const other = (await import(/* @vite-ignore */ specifier)) as typeof import('./errors.js');
    expect(other.RpcError).not.toBe(RpcError);
    const foreign = new other.RpcError('TIMEOUT', 'from the other copy');
    expect(isRpcError(foreign)).toBe(true);
    expect(foreign instanceof RpcError).toBe(true);
    expect(RpcError.from(foreign)).toBe(foreign);
    expect(RpcError.from(foreign).code).toBe('TIMEOUT');
    expect(other.isRpcError(new RpcError('ABORTED', 'from this copy'))).toBe(true);
  });

  // Regression: the brand was a field keyed by a `unique symbol`, which each copy's declarations
  // declare anew: TypeScript refused one copy's RpcError where the other's was expected.
  it('copies - the type has no symbol-keyed member, so every copy declares the same RpcError', () => {
    expectTypeOf<Extract<keyof RpcError, symbol>>().toEqualTypeOf<never>();
  });

  it('copies - look-alikes without the brand, or with a code not in the table, are not RpcErrors', () => {
    const lookAlike = Object.assign(new Error('x'), { name: 'RpcError', code: 'TIMEOUT' });
    expect(isRpcError(lookAlike)).toBe(false);
    expect(lookAlike instanceof RpcError).toBe(false);
    expect(RpcError.from(lookAlike).code).toBe('INTERNAL');
    const badCode = Object.assign(new RpcError('TIMEOUT', 'x'), { code: 'NOT_A_CODE' });
    expect(isRpcError(badCode)).toBe(false);
    expect(isRpcError(null)).toBe(false);
    expect(isRpcError('TIMEOUT')).toBe(false);
  });
});
