import { RpcError as ClientRpcError } from '@stomp-rpc/client';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isRpcError, RpcError } from './index.js';

describe('@stomp-rpc/server entry', () => {
  it("exports - a handler author gets the client's RpcError, its guard and its codes from the server package", () => {
    expect(RpcError).toBe(ClientRpcError);
    const thrown = new RpcError('INVALID_ARGUMENT', 'n must be at least 0');
    expect(isRpcError(thrown)).toBe(true);
    expect(RpcError.from(thrown).code).toBe('INVALID_ARGUMENT');
    expect(Object.keys(ERROR_CODES)).toContain('DEADLINE_EXCEEDED');
  });
});
