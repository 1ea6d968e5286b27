/*
 * The size of a frame we send, and the broker's frame limit learned from its refusal. Web-STOMP
 * closes a connection with WebSocket close 1009 on a frame over its max_frame_size, and says
 * neither which frame it was nor how large the limit is. Every frame the broker took was within
 * its limit and the one it refused is not, so the largest frame sent on that connection is over
 * it: the client stops sending that request, and the server that reply, which would otherwise
 * close every connection it goes out on. (A socket the broker drops while the frame still
 * streams in closes with 1006, which teaches nothing.)
 */
import type { RpcError } from '../errors.js';
import { utf8Length } from '../options.js';
import { isOversizedFrameClose } from './end-reason.js';

type Headers = Readonly<Record<string, string>> | undefined;

/** The UTF-16 units of a frame's destination, body and headers: its bytes are at most three times as many. */
export function frameUnits(destination: string, body: string, ...headerSets: Headers[]): number {
  let units = destination.length + body.length;
  for (const headers of headerSets) {
    for (const name in headers) units += name.length + (headers[name]?.length ?? 0);
  }
  return units;
}

/**
 * The bytes a frame's destination, body and headers take on the wire: UTF-8, with the characters
 * a header value escapes (backslash, colon, CR, LF; stompjs escapes values, not names) counted twice.
 */
export function frameBytes(destination: string, body: string, ...headerSets: Headers[]): number {
  let bytes = escapedBytes(destination) + utf8Length(body);
  for (const headers of headerSets) {
    for (const name in headers) bytes += utf8Length(name) + escapedBytes(headers[name] ?? '');
  }
  return bytes;
}

const escapedBytes = (text: string) => utf8Length(text) + (text.match(/[\\:\r\n]/g)?.length ?? 0);

/** The frame's bytes (frameBytes) when over `bound`; undefined otherwise, most often without counting them. */
export function frameBytesOver(bound: number, destination: string, body: string, ...headerSets: Headers[]) {
  // At most 3 bytes per UTF-16 unit: most frames need no count.
  if (frameUnits(destination, body, ...headerSets) * 3 <= bound) return undefined;
  const bytes = frameBytes(destination, body, ...headerSets);
  return bytes > bound ? bytes : undefined;
}

/** The size of the largest frame sent on a connection (frameBytes). */
export class LargestFrame {
  readonly #floor: number;
  #bytes: number;

  /** Frames of up to `floor` bytes are not counted: most frames then cost one comparison. */
  constructor(floor: number) {
    this.#floor = this.#bytes = floor;
  }

  /** The largest frame counted on this connection so far, in bytes (the floor when none was). */
  get bytes(): number {
    return this.#bytes;
  }

  /** A frame went out: true when it is the largest counted on this connection so far. */
  sent(destination: string, body: string, ...headerSets: Headers[]): boolean {
    const bytes = frameBytesOver(this.#bytes, destination, body, ...headerSets);
    if (bytes === undefined) return false;
    this.#bytes = bytes;
    return true;
  }

  /**
   * The connection ended for `reason`: true when the broker closed it for a frame over its limit
   * and a frame was counted, the largest of which is then over that limit too (it is the one
   * refused, or one sent after it, before the close came). The next connection is counted afresh.
   */
  lost(reason: RpcError): boolean {
    const counted = this.#bytes > this.#floor;
    this.#bytes = this.#floor;
    return counted && isOversizedFrameClose(reason);
  }
}
