/*
 * The size a request may have. A frame over the broker's limit (Web-STOMP's max_frame_size, 256
 * KiB in rabbitmq-conf) closes the connection, not only the call: every call out on it is sent
 * again or fails. So a request over maxRequestBytes is refused before it is sent. When
 * maxRequestBytes is set past the broker's limit, the broker's close is the only sign: the
 * largest request sent on that connection was the one refused (transport/largest-frame.ts). Its
 * call fails rather than go out again, which an idempotent one would do until its deadline,
 * closing each new connection and holding up every other call; larger requests are refused from
 * then on.
 */
import { RpcError } from '../errors.js';
import { frameBytes, frameUnits, LargestFrame } from '../transport/largest-frame.js';

/** A request as its size is counted: the caller's headers and the queue's, not ours. */
interface SizedRequest {
  readonly destination: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly declare?: Readonly<Record<string, string>> | undefined;
}

/** Requests of up to this many bytes cannot teach the limit: most cost one comparison when sent. */
const UNCOUNTED_BYTES = 1024;

export class RequestLimit {
  readonly #configured: number;
  #bytes: number;
  /** The correlation id of the largest request sent on this connection. */
  readonly #largest = new LargestFrame<string>(UNCOUNTED_BYTES);

  /** `maxRequestBytes`: checked (checkCount). */
  constructor(maxRequestBytes: number) {
    this.#configured = this.#bytes = maxRequestBytes;
  }

  /**
   * INVALID_ARGUMENT when the request's destination, body and caller's headers take more bytes on
   * the frame (frameBytes) than the limit; undefined when it may go.
   */
  check({ destination, body, headers, declare }: SizedRequest): RpcError | undefined {
    // At most 3 bytes per UTF-16 unit: most requests need no count.
    if (frameUnits(destination, body, headers, declare) * 3 <= this.#bytes) return undefined;
    const bytes = frameBytes(destination, body, headers, declare);
    if (bytes <= this.#bytes) return undefined;
    const limit =
      this.#bytes === this.#configured
        ? `maxRequestBytes (${this.#bytes})`
        : `the client's request limit (${this.#bytes}, lowered from its maxRequestBytes ${this.#configured} when the broker refused a larger frame)`;
    return new RpcError(
      'INVALID_ARGUMENT',
      `the request is ${bytes} bytes, over ${limit}: the broker closes the connection on a frame over its limit`,
    );
  }

  /** The request of call `correlationId` went out. */
  sent(correlationId: string, { destination, body, headers, declare }: SizedRequest): void {
    this.#largest.sent(correlationId, destination, body, headers, declare);
  }

  /**
   * The connection ended for `reason`. After the broker's close for a frame over its limit: the
   * call whose request it was, with the error it ends with, and the limit lowered under it.
   */
  connectionLost(reason: RpcError): { correlationId: string; error: RpcError } | undefined {
    const refused = this.#largest.lost(reason);
    if (refused === undefined) return undefined;
    this.#bytes = Math.min(this.#bytes, refused.bytes - 1);
    const error = new RpcError(
      'INVALID_ARGUMENT',
      `the broker closed the connection on this request (${refused.bytes} bytes), over its frame limit: it is not sent again, and requests over ${this.#bytes} bytes are refused from now on; set maxRequestBytes (${this.#configured}) under the broker's limit`,
      { cause: reason },
    );
    return { correlationId: refused.what, error };
  }
}
