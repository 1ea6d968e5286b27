/*
 * Sends a server's replies: the headers every reply carries (its request's correlation id, and
 * who answered and how fast), a publish that fails because the connection is gone (the request
 * will be redelivered), and the sizes sent, from which ReplyLimit learns the broker's limit.
 */
import { RpcError } from '@stomp-rpc/client';
import { Header, servedBy } from '@stomp-rpc/client/protocol';
import type { Logger } from './logger.js';
import { ReplyLimit } from './reply-size.js';

interface Publisher {
  publish(frame: { destination: string; body: string; headers: Record<string, string> }): void;
}

export class ReplySender {
  /** maxReplyBytes, or lower once the broker refused a reply's frame as too large. */
  readonly limit: ReplyLimit;
  readonly #connection: Publisher;
  readonly #serverId: string;
  readonly #logger: Logger;

  /** `maxReplyBytes`: checked (checkReplyBytes). */
  constructor(
    connection: Publisher,
    { id, maxReplyBytes, logger }: { id: string; maxReplyBytes: number; logger: Logger },
  ) {
    this.#connection = connection;
    this.#serverId = id;
    this.#logger = logger;
    this.limit = new ReplyLimit(maxReplyBytes);
  }

  /** Sends a reply (or a stream's item or end); false when the connection is gone (the request will be redelivered). */
  send(
    destination: string,
    correlationId: string,
    body: string,
    startedAt: number,
    extraHeaders: Record<string, string>,
  ): boolean {
    const headers: Record<string, string> = {
      [Header.correlationId]: correlationId,
      [Header.server]: servedBy(this.#serverId, performance.now() - startedAt),
      ...extraHeaders,
    };
    try {
      this.#connection.publish({ destination, body, headers });
      this.limit.sent(destination, body, headers);
      return true;
    } catch (error) {
      // Disconnected while handling: the request was not ACKed, so the broker redelivers it.
      this.#logger.warn(
        { correlationId, reason: RpcError.from(error).message },
        'reply not sent; the request will be redelivered',
      );
      return false;
    }
  }

  /** The connection ended: a close for a frame over the broker's limit lowers the reply limit. */
  connectionLost(reason: RpcError): void {
    this.limit.connectionLost(reason, this.#logger);
  }
}
