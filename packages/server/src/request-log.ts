/*
 * What the server logs about requests: one line per dropped or failed request (with its trace),
 * none per success above the debug level. Values from the caller are cut to a bounded length.
 */
import type { ErrorCode } from '@stomp-rpc/client';
import { messageOf } from '@stomp-rpc/client/internal';
import { Header } from '@stomp-rpc/client/protocol';
import type { Logger } from './logger.js';

/** A request ACKed without a reply: there was nowhere safe to answer (request-intake.ts). */
export function logDropped(logger: Logger, headers: Readonly<Record<string, string>>, why: string): void {
  const replyTo = headers[Header.replyTo]?.slice(0, 200);
  logger.warn({ why, replyTo, correlationId: headers[Header.correlationId]?.slice(0, 200) }, 'request dropped');
}

/** A request answered, with an error `code` or not; an INTERNAL one with the `stack` of what the handler threw. */
export function logAnswered(
  logger: Logger,
  request: { headers: Readonly<Record<string, string>>; correlationId: string },
  processingMs: number,
  { body, code, stack }: { body: string; code?: ErrorCode | undefined; stack?: string | undefined },
): void {
  const traceparent = request.headers[Header.traceparent]?.slice(0, 100);
  const correlationId = request.correlationId.slice(0, 200);
  if (code === undefined) {
    logger.debug({ correlationId, traceparent, ms: processingMs }, 'request answered');
    return;
  }
  // The stack's first line repeats the message, which may hold the caller's input: cut as it is.
  const fields = {
    correlationId,
    traceparent,
    code,
    error: body.slice(0, 500),
    ...(stack ? { stack: stack.slice(0, 4000) } : {}),
  };
  if (code === 'INTERNAL') logger.error(fields, 'request failed');
  else logger.warn(fields, 'request failed');
}

/**
 * An exception out of the server's own handling of a request: an observer of the application that
 * threw. Logged (the server's logger never throws: logger.ts neverThrowing); never an unhandled
 * rejection, which would end the process.
 */
export function logHandlingFailure(logger: Logger, error: unknown): void {
  // Not String(error), which throws for some values; an Error keeps its name.
  const message = messageOf(error);
  logger.error({ error: error instanceof Error ? `${error.name}: ${message}` : message }, 'request handling failed');
}
