import { isRpcError } from '@stomp-rpc/client';
import { Header } from '@stomp-rpc/client/protocol';
import { describe, expect, it } from 'vitest';
import {
  type DeliveredMessage,
  DIRECT_REPLY_TO_REFUSED,
  type Intake,
  MAX_CORRELATION_ID_LENGTH,
  takeRequest,
} from './request-intake.js';

const REPLY_QUEUE = 'amq.gen-JzTY20BRgKO-HjmUJj0wLg';
const RECEIVED_AT = 1_700_000_000_000;
const MAX_BODY_BYTES = 1024;
const DEFAULT_DEADLINE_MS = 60_000;

function delivered(headers: Record<string, string>, body = '10'): DeliveredMessage {
  return { headers, byteLength: Buffer.byteLength(body), readBody: () => body };
}

function validHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { [Header.replyTo]: `/reply-queue/${REPLY_QUEUE}`, [Header.correlationId]: 'call-1', ...extra };
}

function take(message: DeliveredMessage, maxBodyBytes = MAX_BODY_BYTES): Intake {
  return takeRequest(message, { maxBodyBytes, defaultDeadlineMs: DEFAULT_DEADLINE_MS }, RECEIVED_AT);
}

/** The accepted request, or a failed test. */
function accepted(intake: Intake): Extract<Intake, { kind: 'request' }> {
  if (intake.kind !== 'request') throw new Error(`expected a request, got a drop: ${intake.why}`);
  return intake;
}

describe('takeRequest', () => {
  it('intake - hands a well-formed request to the handler with its body, headers and correlation-id', () => {
    const headers = validHeaders({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    const intake = accepted(take(delivered(headers, '42')));
    expect(intake.replyTo).toBe(`/reply-queue/${REPLY_QUEUE}`);
    expect(intake.refusal).toBeUndefined();
    expect(intake.request).toEqual({
      body: '42',
      headers,
      correlationId: 'call-1',
      deadline: RECEIVED_AT + DEFAULT_DEADLINE_MS,
    });
  });

  it.each([
    [`/reply-queue/${REPLY_QUEUE}`, `/reply-queue/${REPLY_QUEUE}`],
    [REPLY_QUEUE, `/reply-queue/${REPLY_QUEUE}`],
  ])('intake - replies to %s at %s', (replyTo, destination) => {
    const intake = accepted(take(delivered(validHeaders({ [Header.replyTo]: replyTo }))));
    expect(intake.replyTo).toBe(destination);
  });

  it('intake - drops a request without reply-to', () => {
    expect(take(delivered({ [Header.correlationId]: 'call-1' }))).toEqual({ kind: 'drop', why: 'no reply-to' });
  });

  it.each(['rpc_queue', '/queue/rpc_queue', '/amq/queue/rpc_queue', '/topic/rpc.presence', '/exchange/amq.fanout', ''])(
    'intake - drops a request whose reply-to %j is not a reply queue',
    (replyTo) => {
      expect(take(delivered(validHeaders({ [Header.replyTo]: replyTo })))).toEqual({
        kind: 'drop',
        why: 'reply-to is not a reply queue',
      });
    },
  );

  it.each(['amq.rabbitmq.reply-to.g1h2AA5yZXBseUAxNjI3', '/reply-queue/amq.rabbitmq.reply-to.AAAA.x'])(
    'intake - drops a request whose reply-to %j is a Direct Reply-to address, saying so',
    (replyTo) => {
      const intake = take(delivered(validHeaders({ [Header.replyTo]: replyTo })));
      expect(intake).toEqual({ kind: 'drop', why: DIRECT_REPLY_TO_REFUSED });
    },
  );

  it('intake - drops a request without correlation-id', () => {
    const intake = take(delivered({ [Header.replyTo]: `/reply-queue/${REPLY_QUEUE}` }));
    expect(intake).toEqual({ kind: 'drop', why: 'no correlation-id' });
  });

  it('intake - reports a bad reply-to before a missing correlation-id', () => {
    const intake = take(delivered({ [Header.replyTo]: '/queue/rpc_queue' }));
    expect(intake).toEqual({ kind: 'drop', why: 'reply-to is not a reply queue' });
  });

  it('intake - accepts a correlation-id of the maximum length and drops a longer one', () => {
    const longest = 'c'.repeat(MAX_CORRELATION_ID_LENGTH);
    const intake = accepted(take(delivered(validHeaders({ [Header.correlationId]: longest }))));
    expect(intake.request.correlationId).toBe(longest);

    const tooLong = take(delivered(validHeaders({ [Header.correlationId]: `${longest}c` })));
    expect(tooLong).toEqual({
      kind: 'drop',
      why: `correlation-id longer than ${MAX_CORRELATION_ID_LENGTH} characters`,
    });
  });

  it('intake - drops for a missing reply-to even when the body is over the limit', () => {
    const intake = take(delivered({ [Header.correlationId]: 'call-1' }, 'x'.repeat(10)), 5);
    expect(intake.kind).toBe('drop');
  });

  it('intake - takes a body of exactly maxBodyBytes', () => {
    const intake = accepted(take(delivered(validHeaders(), 'x'.repeat(MAX_BODY_BYTES))));
    expect(intake.refusal).toBeUndefined();
  });

  it('intake - refuses a body over maxBodyBytes with INVALID_ARGUMENT, still answerable, without reading it', () => {
    const body = 'x'.repeat(MAX_BODY_BYTES + 1);
    const message = delivered(validHeaders({ [Header.expiration]: '500' }), body);
    const intake = accepted(take({ ...message, readBody: () => expect.unreachable('the body was read') }));
    expect(isRpcError(intake.refusal)).toBe(true);
    expect(intake.refusal?.code).toBe('INVALID_ARGUMENT');
    expect(intake.refusal?.remote).toBe(false);
    expect(intake.replyTo).toBe(`/reply-queue/${REPLY_QUEUE}`);
    expect(intake.request.correlationId).toBe('call-1');
    expect(intake.request.deadline).toBe(RECEIVED_AT + 500);
  });

  it('intake - measures the limit in bytes, not characters', () => {
    const body = 'é'.repeat(3); // 3 characters, 6 bytes in UTF-8
    const message = delivered(validHeaders(), body);
    expect(message.byteLength).toBe(6);
    expect(accepted(take(message, 6)).refusal).toBeUndefined();
    expect(accepted(take(message, 5)).refusal?.code).toBe('INVALID_ARGUMENT');
  });

  it.each([
    ['1500', RECEIVED_AT + 1500],
    ['0', RECEIVED_AT],
    [String(DEFAULT_DEADLINE_MS + 1), RECEIVED_AT + DEFAULT_DEADLINE_MS + 1], // the caller's, longer or not
  ])('intake - an expiration of %s ms gives the deadline receivedAt + budget', (expiration, deadline) => {
    const intake = accepted(take(delivered(validHeaders({ [Header.expiration]: expiration }))));
    expect(intake.request.deadline).toBe(deadline);
  });

  // Regression: "" and " " read as a 0 ms budget, so such a request was due on arrival.
  it.each(['-1', 'soon', 'NaN', 'Infinity', '1500ms', '', ' ', '2.5', '0x10', '1e3'])(
    'intake - an expiration of %j is none: the deadline is defaultDeadlineMs after delivery (a request that never ended would stall the server)',
    (expiration) => {
      const intake = accepted(take(delivered(validHeaders({ [Header.expiration]: expiration }))));
      expect(intake.request.deadline).toBe(RECEIVED_AT + DEFAULT_DEADLINE_MS);
    },
  );

  it('intake - counts the budget from receivedAt, not from the clock', () => {
    const headers = validHeaders({ [Header.expiration]: '100' });
    const limits = { maxBodyBytes: MAX_BODY_BYTES, defaultDeadlineMs: DEFAULT_DEADLINE_MS };
    const early = accepted(takeRequest(delivered(headers), limits, 1000));
    const late = accepted(takeRequest(delivered(headers), limits, 5000));
    expect(early.request.deadline).toBe(1100);
    expect(late.request.deadline).toBe(5100);
  });
});
