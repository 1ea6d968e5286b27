import { type ErrorCode, isErrorCode } from './protocol/error-codes.js';

export interface RpcErrorOptions {
  cause?: unknown;
  /** True when the server sent this error; false when the client raised it. */
  remote?: boolean;
}

/**
 * The one error class callers see. Branch on `code` (from {@link ERROR_CODES}); the message is for
 * people and may change.
 */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  readonly code: ErrorCode;
  readonly remote: boolean;

  constructor(code: ErrorCode, message: string, options: RpcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.remote = options.remote ?? false;
  }

  /** Normalises anything thrown into an RpcError, keeping the original as `cause`. */
  static from(cause: unknown, fallbackCode: ErrorCode = 'INTERNAL'): RpcError {
    if (cause instanceof RpcError) return cause;
    const message = cause instanceof Error ? cause.message : String(cause);
    return new RpcError(fallbackCode, message, { cause });
  }

  /** Builds the error a server reported in a reply. Unknown codes (a newer server) become INTERNAL. */
  static fromReply(code: string, message: string): RpcError {
    if (isErrorCode(code)) return new RpcError(code, message, { remote: true });
    return new RpcError('INTERNAL', `${code}: ${message}`, { remote: true });
  }
}

export function isRpcError(value: unknown): value is RpcError {
  return value instanceof RpcError;
}
