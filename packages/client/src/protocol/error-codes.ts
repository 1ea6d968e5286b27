/*
 * The error codes of the protocol: a server sends one in `rpc-error-code`, a client raises the
 * others itself. One table for both sides and for the README's failure table.
 */

/**
 * Every error a caller can see carries one of these codes. Callers branch on the code, never on
 * the message. `origin` says who raises it; `retry`, whether the same call made again may succeed;
 * `mayHaveRun`, whether a server may have run a call not marked idempotent (it was sent, and the
 * answer does not say it was refused before its handler ran): retry such a call only if running it
 * twice is safe.
 */
export const ERROR_CODES = {
  INVALID_ARGUMENT: {
    origin: 'client or server',
    retry: false,
    mayHaveRun: false,
    meaning: 'the request (or an option) is not valid',
  },
  TIMEOUT: { origin: 'client', retry: true, mayHaveRun: true, meaning: 'no reply arrived before the call’s deadline' },
  ABORTED: { origin: 'client', retry: false, mayHaveRun: true, meaning: 'the caller’s AbortSignal fired' },
  CLOSED: { origin: 'client', retry: false, mayHaveRun: true, meaning: 'the client was closed before the call ended' },
  CONNECTION_LOST: {
    origin: 'client',
    retry: true,
    mayHaveRun: true,
    meaning:
      'the connection died after the request was sent (or its stream’s server did), and the call is not idempotent; or while discoverServers() asked',
  },
  UNAVAILABLE: { origin: 'client', retry: true, mayHaveRun: false, meaning: 'the broker could not be reached in time' },
  UNAUTHENTICATED: {
    origin: 'client',
    retry: false,
    mayHaveRun: false,
    meaning: 'the broker refused the login (or, for 10 s, the vhost)',
  },
  OVERLOADED: {
    origin: 'client',
    retry: true,
    mayHaveRun: true,
    meaning:
      'the broker had not accepted the request by its deadline: the queue refused it (full, reject-publish policy) or the broker is too busy to confirm it',
  },
  NO_SERVERS: {
    origin: 'client',
    retry: true,
    mayHaveRun: true,
    meaning:
      'nothing is known to consume the queue: no server announced itself and nothing answered by the deadline (with whenNoServers fail: at once, unsent)',
  },
  BAD_REPLY: {
    origin: 'client',
    retry: false,
    mayHaveRun: true,
    meaning: 'a reply arrived that does not follow the protocol',
  },
  DEADLINE_EXCEEDED: {
    origin: 'server',
    retry: false,
    mayHaveRun: true,
    meaning:
      'the request’s deadline passed at the server: it was skipped, or its handler told to stop (the caller has timed out by then)',
  },
  INTERNAL: {
    origin: 'server',
    retry: false,
    mayHaveRun: true,
    meaning: 'the server failed while handling the request',
  },
  UNIMPLEMENTED: {
    origin: 'server',
    retry: false,
    mayHaveRun: false,
    meaning: 'the service has no procedure of the requested name',
  },
  LIMIT_EXCEEDED: {
    origin: 'client',
    retry: false,
    mayHaveRun: true,
    meaning: 'a streamed reply went past the items or bytes the caller allows',
  },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/**
 * Whether a reply may carry `code`: the codes a server raises. The others say what happened to the
 * caller's own call (its deadline, its connection, its signal), which a server cannot know.
 */
export function isServerCode(code: ErrorCode): boolean {
  return ERROR_CODES[code].origin !== 'client';
}
