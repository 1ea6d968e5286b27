import { isRpcError } from '@stomp-rpc/client';
import { describe, expect, it } from 'vitest';
import { parseN } from './fibonacci-service.js';

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return isRpcError(error) ? error.code : 'not an RpcError';
  }
  return undefined;
}

describe('parseN', () => {
  it('reads canonical decimal up to the maximum', () => {
    expect(parseN('0', 10)).toBe(0);
    expect(parseN('30', 1000)).toBe(30);
    expect(parseN('1000000', 1_000_000)).toBe(1_000_000);
  });

  it.each([
    ['', 'empty'],
    ['-1', 'negative'],
    ['+5', 'signed'],
    ['1e3', 'exponent'],
    ['030', 'leading zero'],
    [' 30', 'whitespace'],
    ['30\n', 'trailing newline'],
    ['3.0', 'fraction'],
    ['٣٠', 'Arabic-Indic digits'],
    ['{"n":30}', 'JSON'],
    ['abc', 'words'],
  ])('rejects %j (%s) with INVALID_ARGUMENT', (body) => {
    expect(codeOf(() => parseN(body, 1000))).toBe('INVALID_ARGUMENT');
  });

  it('rejects n above the maximum, however many digits it has', () => {
    expect(codeOf(() => parseN('1001', 1000))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => parseN('9'.repeat(400), 1000))).toBe('INVALID_ARGUMENT');
  });

  it('keeps long bodies out of the message', () => {
    try {
      parseN('x'.repeat(10_000), 1000);
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(120);
    }
    expect.assertions(1);
  });
});
