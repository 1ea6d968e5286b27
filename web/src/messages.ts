// Errors in words a person understands. The page branches on `code` only; the client's message
// is shown underneath as the detail.
import { type ErrorCode, isRpcError } from '@stomp-rpc/client';

/**
 * What each code means to someone using the demo; typed so that a new code cannot go unexplained.
 * A code from another copy of the client, newer than this one, falls back to the message.
 */
const EXPLANATIONS: Readonly<Record<ErrorCode, string>> = {
  INVALID_ARGUMENT:
    'That n cannot be computed: enter a whole number, without leading zeros, from 0 up to the servers’ limit.',
  TIMEOUT: 'No answer arrived in time. The servers may be busy or stopped, or the broker unreachable.',
  NO_SERVERS: 'No Fibonacci server is running on this queue right now. Start one with: npm run server',
  CONNECTION_LOST: 'The connection to the broker dropped while the call was out, so its answer was lost.',
  UNAVAILABLE: 'The broker cannot be reached. Is RabbitMQ running with Web-STOMP?',
  UNAUTHENTICATED: 'The broker refused the login. Check VITE_STOMP_LOGIN and VITE_STOMP_PASSCODE.',
  ABORTED: 'The call was cancelled.',
  CLOSED: 'The page closed its connection before the call ended.',
  BAD_REPLY: 'A reply arrived that does not follow the protocol.',
  DEADLINE_EXCEEDED: 'The server skipped the call because its deadline had already passed.',
  INTERNAL: 'The server failed while computing the answer.',
  UNIMPLEMENTED: 'The server that took the call does not have this procedure: it may run an older version.',
  LIMIT_EXCEEDED: 'The streamed reply went past the items or bytes the page allows for one call.',
  OVERLOADED: 'The broker did not take the call in time: the queue may be full or the broker too busy. Try again.',
};

/**
 * What INVALID_ARGUMENT means for a call whose input passed the page's own check (the client's
 * rule): not the input as typed. From a server, its own limits (one started with `--max-n` takes
 * less); from the client, its settings: a browser refuses every ws:// broker URL on an https page.
 */
export function explanationsAfterCheck(error: unknown): Readonly<Record<string, string>> {
  if (!isRpcError(error) || error.code !== 'INVALID_ARGUMENT') return {};
  return {
    INVALID_ARGUMENT: error.remote
      ? 'A server refused the input: its limits can be lower than the page’s (see its reason below).'
      : 'The client refused the call, not the input: see below. A browser refuses ws:// broker URLs on an https page (VITE_STOMP_URL).',
  };
}

export interface ReadableError {
  code: string;
  explanation: string;
  detail: string;
  /** The server sent it (as opposed to the client deciding it). */
  remote: boolean;
}

/** `explanations` override the general ones, for what a code means to one part of the page. */
export function readableError(error: unknown, explanations: Readonly<Record<string, string>> = {}): ReadableError {
  if (isRpcError(error)) {
    return {
      code: error.code,
      explanation: explanations[error.code] ?? EXPLANATIONS[error.code] ?? error.message,
      detail: error.message,
      remote: error.remote,
    };
  }
  const detail = error instanceof Error ? error.message : String(error);
  return { code: 'UNEXPECTED', explanation: 'Something unexpected went wrong in the page.', detail, remote: false };
}
