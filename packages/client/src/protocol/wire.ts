/*
 * The wire protocol's names and rules, defined once for the client and the server. What they mean
 * and how a call crosses the broker is described once, in docs/protocol.md.
 */

/** Header names used on requests and replies. */
export const Header = {
  correlationId: 'correlation-id',
  replyTo: 'reply-to',
  contentType: 'content-type',
  /** Per-message TTL in ms: RabbitMQ drops a request nobody consumed within the call's deadline. */
  expiration: 'expiration',
  /**
   * On error replies, and on a cancel for a call that timed out (`DEADLINE_EXCEEDED`, see
   * {@link CANCEL_TOPIC}); its value is an {@link ErrorCode}.
   */
  errorCode: 'rpc-error-code',
  /**
   * On replies: who answered and how long it took, `<server id>;<ms from delivery to reply>` (one
   * header, not two: the broker parses every header of every frame). See servedBy().
   */
  server: 'rpc-server',
  /** On a server's answer to a presence ping, so it is not taken for an RPC reply. */
  presence: 'rpc-presence',
  /** W3C Trace Context of the call. */
  traceparent: 'traceparent',
  /** Asks the broker for a RECEIPT once it holds the frame (publisher confirms for a SEND). */
  receipt: 'receipt',
  /**
   * On requests to a service (services/service-definition.ts): the procedure to run. A request
   * without it goes to the service's default procedure, so the tutorial's requests still work.
   */
  procedure: 'rpc-procedure',
  /**
   * On the replies of a streamed procedure: `item` on each item, `end` on the last reply (its body
   * is empty). An error reply also ends a stream. See {@link StreamMark}.
   */
  stream: 'rpc-stream',
  /**
   * On stream items: the item's number from 0, so a copy from a redelivered request is dropped; on
   * the end, how many items its run sent, so that a restarted run's end is told apart.
   */
  sequence: 'rpc-seq',
} as const;

/** Values of the `rpc-stream` header. */
export const StreamMark = { item: 'item', end: 'end' } as const;

/**
 * Where a client says it gave up on a call (aborted, timed out, or the client closed): servers
 * listen here and stop the handler of the request whose `correlation-id` the (empty) message
 * carries, when its `reply-to` is the request's (the broker renders both as the caller's own reply
 * queue). A timeout's cancel carries `rpc-error-code: DEADLINE_EXCEEDED`: the request's
 * `expiration` arrives as sent, not counted down by the time it waited in the queue.
 */
export const CANCEL_TOPIC = '/topic/rpc.cancel';

/**
 * Where a client publishes its pings (presence.ts PING_TOPIC) and cancels: those topics of
 * amq.topic, where servers listen; or, given `exchange`, that exchange with their routing keys,
 * which it must route on to amq.topic (definitions.json binds `rpc` so). A broker user that may
 * write to that exchange alone then needs no write on amq.topic, where presence is announced:
 * with it, a page could replay the servers' announcements (a queue's dead-letter exchange asks
 * only for the right to write to the exchange, whatever the routing key).
 */
export function signalDestinations(exchange: string | undefined): { ping: string; cancel: string } {
  const route = exchange === undefined ? '/topic/' : `/exchange/${exchange}/`;
  return { ping: `${route}rpc.ping`, cancel: `${route}rpc.cancel` };
}

/** Where replies go: on the first SEND carrying it, the broker makes this connection's private amq.gen-... queue. */
export const REPLY_TO = '/temp-queue/stomp-rpc';

/** The tutorial's queue name; the default for clients and servers. */
export const DEFAULT_QUEUE = 'rpc_queue';

/** Where Web-STOMP listens on a default RabbitMQ install with the plugin enabled. */
export const DEFAULT_STOMP_URL = 'ws://127.0.0.1:15674/ws';

/** How a queue is declared when it is addressed as `/queue/<name>`. */
export interface QueueDeclaration {
  /**
   * Survives a broker restart. The tutorial declares `rpc_queue` non-durable, and every party
   * must declare it the same way or the broker closes the connection (precondition_failed).
   * @default false
   */
  durable?: boolean | undefined;
  /** Queue arguments sent as headers, e.g. `{ 'x-max-length': 10000 }`. @default {} */
  arguments?: Readonly<Record<string, string | number>> | undefined;
}

/**
 * STOMP headers that declare a queue the way `queue_declare(queue='rpc_queue')` does.
 *
 * RabbitMQ's STOMP adapter treats `durable:false` alone as "exclusive and auto-delete", so all
 * three flags are sent explicitly to get a plain shared queue.
 */
export function queueDeclarationHeaders(declaration: QueueDeclaration = {}): Record<string, string> {
  const headers: Record<string, string> = {
    durable: String(declaration.durable ?? false),
    'auto-delete': 'false',
    exclusive: 'false',
  };
  for (const [name, value] of Object.entries(declaration.arguments ?? {})) {
    headers[name] = String(value);
  }
  return headers;
}

/**
 * The headers of a request (docs/protocol.md, "Request"): the caller's own, `reply-to`,
 * `correlation-id`, `expiration` (the remaining deadline, whole ms), a `traceparent` when there is
 * one, the queue declaration when `declare` (a connection's first request to the destination) and
 * `receipt` when `receiptId` (a batch's last request).
 */
export function requestHeaders(
  request: {
    readonly headers: Readonly<Record<string, string>>;
    readonly traceparent?: string | undefined;
    readonly declare?: Readonly<Record<string, string>> | undefined;
  },
  correlationId: string,
  remainingMs: number,
  { declare, receiptId }: { declare: boolean; receiptId: string | undefined },
): Record<string, string> {
  const headers: Record<string, string> = {
    ...request.headers,
    [Header.replyTo]: REPLY_TO,
    [Header.correlationId]: correlationId,
    [Header.expiration]: String(Math.ceil(Math.max(1, remainingMs))),
  };
  if (request.traceparent !== undefined) headers[Header.traceparent] = request.traceparent;
  if (declare && request.declare !== undefined) Object.assign(headers, request.declare);
  if (receiptId !== undefined) headers[Header.receipt] = receiptId;
  return headers;
}

/**
 * A probe (core/request-confirmation.ts): BEGIN, then ABORT, of a transaction named by the receipt
 * id. RabbitMQ answers BEGIN's `receipt` itself, in order with the connection's other frames and
 * without touching a queue, so the RECEIPT shows that the broker has handled every frame before it.
 */
export function probeFrames(receiptId: string): [string, string] {
  return [`BEGIN\ntransaction:${receiptId}\nreceipt:${receiptId}\n\n\0`, `ABORT\ntransaction:${receiptId}\n\n\0`];
}

/** The `rpc-server` header of a reply: the server's id and its processing time in ms. */
export function servedBy(serverId: string, processingMs: number): string {
  return `${serverId};${processingMs.toFixed(3)}`;
}

/** Reads an `rpc-server` header; a value without a valid time gives the id alone. */
export function parseServedBy(value: string | undefined): { server: string | undefined; serverMs: number | undefined } {
  if (value === undefined) return { server: undefined, serverMs: undefined };
  const split = value.lastIndexOf(';');
  if (split < 0) return { server: value, serverMs: undefined };
  const serverMs = Number(value.slice(split + 1));
  return {
    server: value.slice(0, split),
    serverMs: value.length > split + 1 && Number.isFinite(serverMs) ? serverMs : undefined,
  };
}

/** The STOMP destination of a queue that is declared on first use. */
export function queueDestination(queue: string): string {
  return `/queue/${queue}`;
}

/**
 * Whether RabbitMQ's STOMP adapter knows the destination's kind. It answers any other (`rpc_queue`
 * without its `/queue/`, say) with an ERROR that neither closes the connection nor names the frame.
 */
export function isStompDestination(destination: string): boolean {
  return /^\/(?:queue|amq\/queue|exchange|topic|temp-queue|reply-queue)\/[^/]/.test(destination);
}

/**
 * Headers a caller may not set on a request: STOMP's own (a `destination` would replace the one
 * checked, a `content-length` or `transaction` break the frame or the connection) and the ones the
 * client sets, which would be overwritten unseen.
 */
const RESERVED_HEADERS = new Set([
  'destination',
  'content-length',
  'transaction',
  Header.receipt,
  Header.replyTo,
  Header.correlationId,
  Header.expiration,
]);

/**
 * Why a caller's extra headers cannot go on a request, or undefined when they can: a name must be
 * neither empty nor reserved and hold no `:`, backslash, line break or NUL (stompjs escapes
 * values, not names: a line break would end the header block, and RabbitMQ reads a backslash as
 * an escape, closing the connection on one it does not know), and every value must be a string.
 */
export function badRequestHeaders(headers: Readonly<Record<string, unknown>>): string | undefined {
  for (const [name, value] of Object.entries(headers)) {
    if (name === '' || /[:\\\r\n\0]/.test(name)) return `not a header name: ${JSON.stringify(name.slice(0, 60))}`;
    if (RESERVED_HEADERS.has(name)) return `the header ${name} is the client's own`;
    if (typeof value !== 'string') return `the header ${name} is not a string`;
  }
  return undefined;
}

/** The queue a `/queue/<name>` or `/amq/queue/<name>` destination addresses; undefined for others. */
export function queueOfDestination(destination: string): string | undefined {
  const match = /^\/(?:amq\/)?queue\/(.+)$/.exec(destination);
  return match?.[1];
}

/**
 * Turns the `reply-to` a server received into a destination it may SEND to, or `undefined` when
 * it is not a reply queue.
 *
 * Only server-named reply queues (`amq.gen-…`: a STOMP temp-queue or an AMQP exclusive queue) are
 * accepted: anything else would let a caller make the server publish into `rpc_queue` itself, a
 * topic or an exchange. Not Direct Reply-to (`amq.rabbitmq.reply-to.…`) either: RabbitMQ before
 * 4.1 crashes the publishing channel on such an address it cannot decode or whose node it does not
 * know, so one forged request or ping would disconnect every server it reached.
 */
export function replyDestination(replyTo: string | undefined): string | undefined {
  if (replyTo === undefined) return undefined;
  const name = replyTo.startsWith('/reply-queue/') ? replyTo.slice('/reply-queue/'.length) : replyTo;
  // At most RabbitMQ's 255 bytes: a reply's destination echoes it, and a longer one could push the
  // reply past the broker's frame limit, closing the server's connection.
  if (!/^amq\.gen-[\w-]{1,247}$/.test(name)) return undefined;
  return `/reply-queue/${name}`;
}
