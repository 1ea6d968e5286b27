/*
 * The size a reply may have. A frame over the broker's limit (Web-STOMP's frame limit and
 * max_message_size, 256 KiB in rabbitmq-conf) closes the server's connection, not only the call:
 * every request it held goes back, and the one with the large reply, redelivered, does it again
 * on the next server. So a server refuses to send such a reply and sends INTERNAL instead, and
 * cuts an error's message to fit.
 */
import { RpcError } from '@stomp-rpc/client';
import { checkCount, isOversizedFrameClose } from '@stomp-rpc/client/internal';
import type { Logger } from './logger.js';

/** The smallest `maxReplyBytes`: an error's message, cut to fit, must still say what failed. */
export const MIN_REPLY_BYTES = 1024;

/** INTERNAL when `body` (UTF-8) is over `maxReplyBytes`; undefined when it may go. */
export function oversizedReply(body: string, maxReplyBytes: number): RpcError | undefined {
  // A UTF-16 unit is at most 3 bytes of UTF-8: most replies need no count.
  if (body.length * 3 <= maxReplyBytes) return undefined;
  const bytes = Buffer.byteLength(body);
  if (bytes <= maxReplyBytes) return undefined;
  return new RpcError('INTERNAL', `the reply is ${bytes} bytes, over the server's maxReplyBytes (${maxReplyBytes})`);
}

/** A handler's answer as its reply: itself, or INTERNAL when it is over `maxReplyBytes`. */
export function replyWithin(answer: string, maxReplyBytes: number): { body: string; code?: 'INTERNAL' } {
  const oversized = oversizedReply(answer, maxReplyBytes);
  return oversized ? { body: oversized.message, code: 'INTERNAL' } : { body: answer };
}

/** An error's message as a reply, cut to `maxReplyBytes` when longer (its start says what failed). */
export function fitted(message: string, maxReplyBytes: number): string {
  if (oversizedReply(message, maxReplyBytes) === undefined) return message;
  // At most 3 bytes of UTF-8 per UTF-16 unit, and 3 for the ellipsis.
  return `${message.slice(0, Math.floor(maxReplyBytes / 3) - 1)}…`;
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
 * The reply size in force: maxReplyBytes, lowered when the broker closes the connection on a frame
 * over its own limit (WebSocket close 1009), as it does when maxReplyBytes was raised past it. The
 * request whose reply did it goes back to the queue, and would close the connection of every
 * server it reaches, forever on a classic queue. So a server that sees such a close refuses from
 * then on replies as long as the longest it had sent on that connection: when the request comes
 * back to it, it is answered INTERNAL. (Counted in UTF-16 units, at most its bytes of UTF-8: a
 * reply shorter in units but not in bytes may close the connection once more, and is refused next.)
 */
export class ReplyLimit {
  #bytes: number;
  #longestSent = 0;

  constructor(maxReplyBytes: number) {
    this.#bytes = checkReplyBytes(maxReplyBytes);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** A reply or stream item went out. */
  sent(body: string): void {
    if (body.length > this.#longestSent) this.#longestSent = body.length;
  }

  /** The connection ended for `reason`: after the broker's refusal of a frame, replies as long as the longest sent are refused. */
  connectionLost(reason: RpcError, logger: Logger): void {
    const longest = this.#longestSent;
    this.#longestSent = 0;
    if (!isOversizedFrameClose(reason) || longest <= MIN_REPLY_BYTES) return;
    this.#bytes = Math.min(this.#bytes, longest - 1);
    logger.error(
      { reason: reason.message, maxReplyBytes: this.#bytes },
      `the broker closed the connection on a frame over its size limit, after replies of up to ${longest} characters: replies over ${this.#bytes} bytes are INTERNAL from now on; set maxReplyBytes (--max-reply-bytes) under the broker's frame limit (web_stomp.ws_opts.max_frame_size)`,
    );
  }
}
