import { describe, expect, it } from 'vitest';
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
  });

  it('fromReply() marks server errors remote and maps unknown codes to INTERNAL', () => {
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
  });

  it('isRpcError() refuses look-alikes', () => {
    expect(isRpcError({ code: 'TIMEOUT', message: 'x' })).toBe(false);
    expect(isRpcError(new Error('x'))).toBe(false);
  });
});
