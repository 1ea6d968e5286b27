import { describe, expect, it } from 'vitest';
import { RpcServer, type RpcServerOptions } from './rpc-server.js';

const handler = (request: { body: string }) => request.body;

/** The error code constructing a server with these options throws, or 'none'. */
function codeOf(options: Partial<RpcServerOptions>): string {
  try {
    new RpcServer({ handler, ...options } as RpcServerOptions);
    return 'none';
  } catch (error) {
    return (error as { code?: string }).code ?? 'no code';
  }
}

describe('RpcServer options', () => {
  it('options - bounds that are not whole numbers of at least 1 are INVALID_ARGUMENT (a NaN bound would turn its check off)', () => {
    for (const name of ['prefetch', 'maxBodyBytes', 'maxStreamItems', 'maxStreamBytes'] as const) {
      for (const value of [Number.NaN, 0, -1, 1.5, Number.POSITIVE_INFINITY]) {
        expect(codeOf({ [name]: value }), `${name}: ${value}`).toBe('INVALID_ARGUMENT');
      }
      expect(codeOf({ [name]: 1 }), `${name}: 1`).toBe('none');
    }
  });

  it('options - a missing handler is INVALID_ARGUMENT at once, not INTERNAL on every request', () => {
    expect(codeOf({ handler: undefined })).toBe('INVALID_ARGUMENT');
  });
});
