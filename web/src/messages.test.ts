import { ERROR_CODES, type ErrorCode, RpcError } from '@stomp-rpc/client';
import { describe, expect, it } from 'vitest';
import { explanationsAfterCheck, readableError } from './messages.js';

describe('messages', () => {
  it('readableError - explains by code, and a part of the page may explain a code its own way', () => {
    const error = new RpcError('INVALID_ARGUMENT', 'from and to must be whole numbers');
    expect(readableError(error).explanation).toContain('That n cannot be computed');
    expect(readableError(error, { INVALID_ARGUMENT: 'That range cannot be streamed.' })).toEqual({
      code: 'INVALID_ARGUMENT',
      explanation: 'That range cannot be streamed.',
      detail: 'from and to must be whole numbers',
      remote: false,
    });
  });

  it('readableError - explains every code of the client in words of its own, not by repeating the message', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const { explanation } = readableError(new RpcError(code, 'the message'));
      expect(explanation, code).not.toBe('the message');
    }
  });

  it('readableError - an error that is not an RpcError is UNEXPECTED, with its message as the detail', () => {
    expect(readableError(new Error('boom'))).toMatchObject({ code: 'UNEXPECTED', detail: 'boom', remote: false });
  });

  it("explanationsAfterCheck - INVALID_ARGUMENT for input the page checked blames the server's limits or the client's settings, not the input", () => {
    const server = new RpcError('INVALID_ARGUMENT', 'n must be at most 1000', { remote: true });
    expect(readableError(server, explanationsAfterCheck(server)).explanation).toContain('A server refused the input');
    const client = new RpcError('INVALID_ARGUMENT', 'the browser refused to open every URL');
    expect(readableError(client, explanationsAfterCheck(client)).explanation).toContain(
      'ws:// broker URLs on an https page',
    );
    expect(explanationsAfterCheck(new RpcError('TIMEOUT', 'no reply'))).toEqual({});
    expect(explanationsAfterCheck(new Error('boom'))).toEqual({});
  });
});
