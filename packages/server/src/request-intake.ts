/*
 * What a delivered request is, decided before any work: a pure function of the message.
 *
 * - `reply-to` must name a reply queue (protocol replyDestination): anything else would let a
 *   caller make the server publish into rpc_queue itself, a topic or an exchange. A request
 *   without one, or without a correlation-id of at most 256 characters, is dropped (ACKed, logged,
 *   never answered: there is nowhere safe to answer).
 * - A body over `maxBodyBytes` is answered with INVALID_ARGUMENT without being read.
 * - `expiration` is the caller's remaining budget. The broker drops the request once that passes
 *   while it is queued; the server counts the budget from delivery (it cannot see the time spent
 *   queued, and the caller's clock is not comparable to ours). A request without one gets
 *   `defaultDeadlineMs`.
 */
import { RpcError } from '@stomp-rpc/client';
import { Header, replyDestination } from '@stomp-rpc/client/protocol';

/** Why a Direct Reply-to request is dropped (protocol replyDestination says why it is refused). */
export const DIRECT_REPLY_TO_REFUSED =
  'reply-to is a Direct Reply-to address, which servers do not answer: reply through an exclusive queue';

/** Longer correlation ids are not echoed (a reply would carry the caller's junk back); the request is dropped. */
export const MAX_CORRELATION_ID_LENGTH = 256;

export interface DeliveredMessage {
  readonly headers: Readonly<Record<string, string>>;
  /** The body's size in bytes. */
  readonly byteLength: number;
  /** The body as text; decoded only for a body within the limit. */
  readBody(): string;
}

export interface RpcRequest {
  /** The request body as text. */
  body: string;
  /** All headers of the request, as the broker delivered them. */
  headers: Readonly<Record<string, string>>;
  correlationId: string;
  /**
   * When the request's time is up, as a Date.now() time: the caller's deadline (`expiration`), or
   * the server's defaultDeadlineMs after delivery when it has none. The server itself (`signal`)
   * also counts its span on the monotonic clock and stops at whichever comes first (deadline.ts),
   * so a step of the system clock back gives the request no more time.
   */
  deadline: number;
  /** The procedure it names (`rpc-procedure`), for a service; undefined when it names none. */
  procedure: string | undefined;
  /**
   * Aborts when the caller cancels the call or its deadline passes, the reason an RpcError (ABORTED
   * or DEADLINE_EXCEEDED); and when the request went back to the broker, to be answered again
   * (CONNECTION_LOST: this server's connection died; CLOSED: stop()'s grace ended). A handler that
   * does long work should stop on it.
   */
  readonly signal: AbortSignal;
}

/** A request as intake reads it: the server adds the signal. */
export type IntakeRequest = Omit<RpcRequest, 'signal'>;

export type Intake =
  | { kind: 'drop'; why: string }
  /** Answerable: `replyTo` is where the reply goes; `refusal`, when set, is the reply instead of the handler's. */
  | { kind: 'request'; request: IntakeRequest; replyTo: string; refusal?: RpcError };

/** Reads a delivered request at `receivedAt`: drop it, refuse it, or hand it to the handler. */
export function takeRequest(
  message: DeliveredMessage,
  { maxBodyBytes, defaultDeadlineMs }: { maxBodyBytes: number; defaultDeadlineMs: number },
  receivedAt: number,
): Intake {
  const { headers } = message;
  const rawReplyTo = headers[Header.replyTo];
  const correlationId = headers[Header.correlationId];
  const replyTo = replyDestination(rawReplyTo);
  if (rawReplyTo === undefined) return { kind: 'drop', why: 'no reply-to' };
  if (replyTo === undefined) {
    const directReplyTo = rawReplyTo.replace(/^\/reply-queue\//, '').startsWith('amq.rabbitmq.reply-to');
    return { kind: 'drop', why: directReplyTo ? DIRECT_REPLY_TO_REFUSED : 'reply-to is not a reply queue' };
  }
  if (correlationId === undefined) return { kind: 'drop', why: 'no correlation-id' };
  if (correlationId.length > MAX_CORRELATION_ID_LENGTH) {
    return { kind: 'drop', why: `correlation-id longer than ${MAX_CORRELATION_ID_LENGTH} characters` };
  }
  const deadline = receivedAt + (budgetMs(headers[Header.expiration]) ?? defaultDeadlineMs);
  const procedure = headers[Header.procedure];
  if (message.byteLength > maxBodyBytes) {
    const refusal = new RpcError(
      'INVALID_ARGUMENT',
      `request body is ${message.byteLength} bytes; the limit is ${maxBodyBytes}`,
    );
    return { kind: 'request', request: { body: '', headers, correlationId, deadline, procedure }, replyTo, refusal };
  }
  const request = { body: message.readBody(), headers, correlationId, deadline, procedure };
  return { kind: 'request', request, replyTo };
}

/** The caller's budget from an `expiration` header, in ms; undefined without one. */
function budgetMs(expiration: string | undefined): number | undefined {
  // RabbitMQ's per-message TTL is whole milliseconds in decimal; Number() would also read "" as 0
  // (a request due on arrival), "0x10" as 16 and "1e3" as 1000.
  return expiration !== undefined && /^[0-9]+$/.test(expiration) ? Number(expiration) : undefined;
}
