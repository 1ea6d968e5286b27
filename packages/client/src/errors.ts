import { type ErrorCode, isErrorCode, isServerCode } from './protocol/error-codes.js';

export interface RpcErrorOptions {
  cause?: unknown;
  /** True when the server sent this error; false when the client raised it. */
  remote?: boolean | undefined;
}

/**
 * Marks an RpcError whichever copy of this package made it. An application and the server package
 * can each load their own copy (npm installs two when their versions differ), and `instanceof`
 * only knows its own copy's class; a registered symbol is the same in every copy.
 */
const BRAND = Symbol.for('@stomp-rpc/client.RpcError');

/**
 * The one error class callers see. Branch on `code` (from {@link ERROR_CODES}); the message is for
 * people and may change. `instanceof RpcError` and isRpcError() recognise an RpcError from any
 * copy of the package.
 */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  readonly code: ErrorCode;
  readonly remote: boolean;

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isRpcError(value);
  }

  constructor(code: ErrorCode, message: string, options: RpcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.remote = options.remote ?? false;
  }

  /** Normalises anything thrown into an RpcError, keeping the original as `cause`. */
  static from(cause: unknown, fallbackCode: ErrorCode = 'INTERNAL'): RpcError {
    if (isRpcError(cause)) return cause;
    return new RpcError(fallbackCode, messageOf(cause), { cause });
  }

  /**
   * Builds the error a server reported in a reply. Unknown codes (a newer server), and codes only a
   * client raises (a handler passing on what one of its own calls failed with), become INTERNAL:
   * a caller must not take a server's TIMEOUT for its own call's.
   */
  static fromReply(code: string, message: string): RpcError {
    if (isErrorCode(code) && isServerCode(code)) return new RpcError(code, message, { remote: true });
    return new RpcError('INTERNAL', `${code}: ${message}`, { remote: true });
  }
}

// On the prototype, not declared as a field: each copy's type declarations would declare their own
// `unique symbol` for it, and TypeScript would not take one copy's RpcError for the other's.
Object.defineProperty(RpcError.prototype, BRAND, { value: true });

/** What `cause` says: an Error's message, or the value as a string; never throws (`String()` does, for an object without a prototype). */
export function messageOf(cause: unknown): string {
  try {
    return cause instanceof Error ? cause.message : String(cause);
  } catch {
    return Object.prototype.toString.call(cause);
  }
}

/** Whether `value` is an RpcError, made by this copy of the package or another. */
export function isRpcError(value: unknown): value is RpcError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [BRAND]?: unknown })[BRAND] === true &&
    isErrorCode((value as { code?: unknown }).code)
  );
}
