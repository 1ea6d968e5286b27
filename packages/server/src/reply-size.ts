/*
 * The size a reply may have. A frame over the broker's limit (Web-STOMP's frame limit and
 * max_message_size, 256 KiB in rabbitmq-conf) closes the server's connection, not only the call:
 * every request it held goes back, and the one with the large reply, redelivered, does it again
 * on the next server. So a server refuses to send such a reply and sends INTERNAL instead, and
 * cuts an error's message to fit.
 */
import { RpcError } from '@stomp-rpc/client';
import { checkCount, frameBytes, LargestFrame } from '@stomp-rpc/client/internal';
import type { Logger } from './logger.js';

/** The smallest `maxReplyBytes`: an error's message, cut to fit, must still say what failed. */
export const MIN_REPLY_BYTES = 1024;

/** A bound on a reply's bytes of UTF-8, and how an error names it. */
export interface ReplyBound {
  readonly bytes: number;
  /** As the caller reads it: "the server's maxReplyBytes (253952)". */
  readonly label: string;
}

/** INTERNAL when `body` (UTF-8) is over `bound`; undefined when it may go. */
export function oversizedReply(body: string, bound: ReplyBound): RpcError | undefined {
  // A UTF-16 unit is at most 3 bytes of UTF-8: most replies need no count.
  if (body.length * 3 <= bound.bytes) return undefined;
  const bytes = Buffer.byteLength(body);
  if (bytes <= bound.bytes) return undefined;
  return new RpcError('INTERNAL', `the reply is ${bytes} bytes, over ${bound.label}`);
}

/** A handler's answer as its reply: itself, or INTERNAL when it is over `bound`. */
export function replyWithin(answer: string, bound: ReplyBound): { body: string; code?: 'INTERNAL' } {
  const oversized = oversizedReply(answer, bound);
  return oversized ? { body: oversized.message, code: 'INTERNAL' } : { body: answer };
}

/** An error's message as a reply, cut to `bound` when longer (its start says what failed). */
export function fitted(message: string, bound: ReplyBound): string {
  if (oversizedReply(message, bound) === undefined) return message;
  // At most 3 bytes of UTF-8 per UTF-16 unit, and 3 for the ellipsis.
  return `${message.slice(0, Math.floor(bound.bytes / 3) - 1)}…`;
}

/** `maxReplyBytes`, checked: a whole number of at least MIN_REPLY_BYTES. */
export function checkReplyBytes(maxReplyBytes: number): number {
  checkCount(maxReplyBytes, 'maxReplyBytes');
  if (maxReplyBytes < MIN_REPLY_BYTES) {
    throw new RpcError('INVALID_ARGUMENT', `maxReplyBytes must be at least ${MIN_REPLY_BYTES}, got ${maxReplyBytes}`);
  }
  return maxReplyBytes;
}

/**
 * The server's reply bound: maxReplyBytes, lowered when the broker closes the connection on a
 * frame over its own limit, as Web-STOMP does (WebSocket close 1009) when maxReplyBytes was set
 * past its max_frame_size. The request whose reply did it goes back to the queue, and would close
 * the connection of every server it reaches, forever on a classic queue. The largest frame this
 * server sent on that connection is over the broker's limit (LargestFrame), so from then on
 * replies as large as that frame's body are refused: when the request comes back, it is answered
 * INTERNAL. (A close seen as 1006, the socket dropped mid-frame, teaches nothing: the reply closes
 * the connection again. Limits that refuse without a 1009, RabbitMQ's max_message_size or 4.2's
 * stomp.max_frame_size, are not learned at all.)
 */
export class ReplyLimit implements ReplyBound {
  readonly #configured: number;
  #bytes: number;
  /** Replies and stream items: a frame of up to MIN_REPLY_BYTES could not lower the limit. */
  readonly #largest = new LargestFrame(MIN_REPLY_BYTES);
  /** The body's bytes of the largest. */
  #largestBody = 0;

  /** `maxReplyBytes`: checked (checkReplyBytes). */
  constructor(maxReplyBytes: number) {
    this.#configured = this.#bytes = maxReplyBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get label(): string {
    return this.#bytes === this.#configured
      ? `the server's maxReplyBytes (${this.#bytes})`
      : `the server's reply limit (${this.#bytes}, lowered from its maxReplyBytes ${this.#configured} when the broker refused a larger frame)`;
  }

  /** A reply or stream item went out. */
  sent(destination: string, body: string, headers: Readonly<Record<string, string>>): void {
    // The body's bytes without counting them again.
    if (this.#largest.sent(destination, body, headers)) {
      this.#largestBody = this.#largest.bytes - frameBytes(destination, '', headers);
    }
  }

  /** The connection ended for `reason`: after the broker's refusal of a frame, the bound is lowered under the largest sent. */
  connectionLost(reason: RpcError, logger: Logger): void {
    const body = this.#largestBody;
    this.#largestBody = 0;
    if (!this.#largest.lost(reason) || body - 1 < MIN_REPLY_BYTES || body - 1 >= this.#bytes) return;
    this.#bytes = body - 1;
    logger.error(
      { reason: reason.message, maxReplyBytes: this.#configured, replyLimit: this.#bytes },
      `the broker closed the connection on a frame over its size limit, after a reply of ${body} bytes: larger replies than ${this.#bytes} bytes are INTERNAL from now on; set maxReplyBytes (--max-reply-bytes) under the broker's frame limit (web_stomp.ws_opts.max_frame_size)`,
    );
  }
}
