/*
 * The size a reply may have. A frame over the broker's limit (Web-STOMP's frame limit and
 * max_message_size, 256 KiB in rabbitmq-conf) closes the server's connection, not only the call:
 * every request it held goes back, and the one with the large reply, redelivered, does it again
 * on the next server. So a server refuses to send such a reply and sends INTERNAL instead, and
 * cuts an error's message to fit.
 */
import { RpcError } from '@stomp-rpc/client';
import { checkCount } from '@stomp-rpc/client/internal';

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
