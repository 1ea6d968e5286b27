/*
 * The client's defaults, in one table: the classes read them, the command line shows them in
 * --help, and the README quotes them.
 */
import { DEFAULT_QUEUE, DEFAULT_STOMP_URL } from './protocol/wire.js';

export const CLIENT_DEFAULTS = {
  url: DEFAULT_STOMP_URL,
  queue: DEFAULT_QUEUE,
  login: 'guest',
  passcode: 'guest',
  vhost: '/',
  /** Deadline of a call. */
  timeoutMs: 10_000,
  /** Give up on one connection attempt after this long. */
  connectTimeoutMs: 5000,
  /** How often the broker must send a heart-beat. */
  heartbeatMs: 10_000,
  /** How often an end-of-line keeps an idle connection open. */
  keepaliveMs: 20_000,
  /** First delay before reconnecting; doubles per failed attempt. */
  reconnectDelayMs: 250,
  maxReconnectDelayMs: 10_000,
  /** A watching client's wait for answers to its ping after each (re)connection; discoverServers()'s default wait. */
  discoveryMs: 300,
  /** An idempotent request the broker has not confirmed after this long is sent again. */
  resendUnconfirmedMs: 1000,
  /** Ask the broker to confirm each request (RECEIPT). */
  confirmRequests: true,
  /** Follow the servers' presence. */
  presence: true,
  /** Tell the servers of a call given up on (protocol CANCEL_TOPIC). */
  cancels: true,
  /** A call to a queue no server announced itself for: send it and wait, or fail at once with NO_SERVERS. */
  whenNoServers: 'wait',
  /** Give every call a fresh traceparent when its caller passes none. */
  traceCalls: false,
  /**
   * Bytes (UTF-8) of a request's destination, body and its caller's headers. rabbitmq-conf's frame limit is
   * 256 KiB: this leaves 8 KiB for the headers the client adds, as the server's maxReplyBytes does.
   */
  maxRequestBytes: 248 * 1024,
  /** Start from a random URL of the list. */
  randomizeUrls: true,
} as const;
