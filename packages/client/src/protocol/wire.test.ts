import { describe, expect, it } from 'vitest';
import {
  CANCEL_TOPIC,
  ERROR_CODES,
  isErrorCode,
  PING_TOPIC,
  queueDeclarationHeaders,
  replyDestination,
  signalDestinations,
} from './index.js';
import { isStompDestination } from './wire.js';

describe('replyDestination', () => {
  it.each([
    ['/reply-queue/amq.gen-JzTY20BRgKO-HjmUJj0wLg', '/reply-queue/amq.gen-JzTY20BRgKO-HjmUJj0wLg'],
    ['amq.gen-JzTY20BRgKO-HjmUJj0wLg', '/reply-queue/amq.gen-JzTY20BRgKO-HjmUJj0wLg'],
    [`amq.gen-${'x'.repeat(247)}`, `/reply-queue/amq.gen-${'x'.repeat(247)}`],
  ])('accepts the reply queue %s', (replyTo, destination) => {
    expect(replyDestination(replyTo)).toBe(destination);
  });

  it.each([
    undefined,
    '',
    'rpc_queue',
    '/queue/rpc_queue',
    '/amq/queue/rpc_queue',
    '/topic/anything',
    '/exchange/amq.fanout',
    '/reply-queue/victim',
    '/temp-queue/x',
    'amq.gen-x/../rpc_queue',
    'amq.gen-x\nrpc_queue',
    'amq.gen-',
    'amq.gen-a.b',
    `amq.gen-${'x'.repeat(248)}`, // over RabbitMQ's 255-byte queue names: a forged reply-to could push a reply past the frame limit
    'amq.rabbitmq.reply-to',
    'amq.rabbitmq.reply-toX',
    // Direct Reply-to: a forged address crashes the replying channel on RabbitMQ before 4.1.
    'amq.rabbitmq.reply-to.g1h2AA5yZXBseUAxNjI3',
    '/reply-queue/amq.rabbitmq.reply-to.g1h2AA9yZXBseUA0NzQ1MzAzOQAAWS0AAAAAZSq+XQ==.8cRpv/Yw2P1uV0qN9hyw3g==',
  ])('refuses %j', (replyTo) => {
    expect(replyDestination(replyTo)).toBeUndefined();
  });
});

describe('signalDestinations', () => {
  it('the topics servers listen on, or the same routing keys through an exchange that routes them there', () => {
    expect(signalDestinations(undefined)).toEqual({ ping: PING_TOPIC, cancel: CANCEL_TOPIC });
    expect(signalDestinations('rpc')).toEqual({ ping: '/exchange/rpc/rpc.ping', cancel: '/exchange/rpc/rpc.cancel' });
  });
});

describe('isStompDestination', () => {
  it('takes the kinds RabbitMQ’s STOMP adapter knows, each with a name, and nothing else', () => {
    const known = ['/queue/rpc_queue', '/amq/queue/q', '/exchange/rpc/rpc_queue', '/exchange/rpc', '/topic/a.b'];
    expect(known.filter(isStompDestination)).toEqual(known);
    expect(['/temp-queue/t', '/reply-queue/amq.gen-x'].every(isStompDestination)).toBe(true);
    const unknown = ['rpc_queue', '/queue/', 'queue/rpc_queue', '/queues/rpc_queue', '', '/exchange/', '/exchange//x'];
    expect(unknown.filter(isStompDestination)).toEqual([]);
  });
});

describe('queueDeclarationHeaders', () => {
  it('declares the tutorial’s plain non-durable shared queue by default', () => {
    expect(queueDeclarationHeaders()).toEqual({ durable: 'false', 'auto-delete': 'false', exclusive: 'false' });
  });

  it('carries durability and queue arguments as headers', () => {
    expect(queueDeclarationHeaders({ durable: true, arguments: { 'x-max-length': 1000 } })).toEqual({
      durable: 'true',
      'auto-delete': 'false',
      exclusive: 'false',
      'x-max-length': '1000',
    });
  });
});

describe('error codes', () => {
  it('recognises only codes of the table', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(isErrorCode(code)).toBe(true);
    for (const other of ['toString', 'timeout', 'NO_SUCH_CODE', 42, undefined]) expect(isErrorCode(other)).toBe(false);
  });
});
