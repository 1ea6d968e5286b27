/*
 * The size a request may have. A frame over the broker's limit (Web-STOMP's max_frame_size, 256
 * KiB in rabbitmq-conf) closes the connection, not only the call: every call out on it is sent
 * again or fails. So a request over maxRequestBytes is refused before it is sent. When
 * maxRequestBytes is set past the broker's limit, the broker's close is the only sign: the
 * largest request sent on that connection is over it (transport/largest-frame.ts). Its call
 * fails rather than go out again, which an idempotent one would do until its deadline, closing
 * each new connection and holding up every other call; from then on the limit is under it, for
 * the calls still waiting as for new ones.
 */
import { RpcError } from '../errors.js';
import { frameBytes, frameBytesOver, LargestFrame } from '../transport/largest-frame.js';

/** A request as its size is counted against the limit: the caller's headers and the queue's, not ours. */
interface SizedRequest {
  readonly destination: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly declare?: Readonly<Record<string, string>> | undefined;
}

interface SizedCall {
  readonly correlationId: string;
  readonly request: SizedRequest & { readonly idempotent: boolean };
  readonly delivery: { readonly sent: boolean };
}

/** Requests of up to this many bytes cannot teach the limit: most cost one comparison when sent. */
const UNCOUNTED_BYTES = 1024;

export class RequestLimit {
  readonly #configured: number;
  #bytes: number;
  /** Frames as they went out, with every header: the one the broker refused is the largest of them. */
  readonly #largest = new LargestFrame(UNCOUNTED_BYTES);
  /** The largest one's call, and its request's size as the limit counts it. */
  #largestCall: { correlationId: string; bytes: number } | undefined;

  /** `maxRequestBytes`: checked (checkCount). */
  constructor(maxRequestBytes: number) {
    this.#configured = this.#bytes = maxRequestBytes;
  }

  /**
   * INVALID_ARGUMENT when the request's destination, body and caller's headers take more bytes on
   * the frame (frameBytes) than the limit; undefined when it may go.
   */
  check({ destination, body, headers, declare }: SizedRequest): RpcError | undefined {
    const bytes = frameBytesOver(this.#bytes, destination, body, headers, declare);
    if (bytes === undefined) return undefined;
    const limit =
      this.#bytes === this.#configured
        ? `maxRequestBytes (${this.#bytes})`
        : `the client's request limit (${this.#bytes}, lowered from its maxRequestBytes ${this.#configured} when the broker refused a larger frame)`;
    return new RpcError(
      'INVALID_ARGUMENT',
      `the request is ${bytes} bytes, over ${limit}: the broker closes the connection on a frame over its limit`,
    );
  }

  /** A call's request went out with `headers`, all of them. */
  sent({ correlationId, request }: SizedCall, headers: Readonly<Record<string, string>>): void {
    const { destination, body, headers: callers, declare } = request;
    if (!this.#largest.sent(destination, body, headers)) return;
    // As the limit counts it: the caller's headers and the declaration for ours (the body is not counted again).
    const bytes =
      this.#largest.bytes - frameBytes(destination, '', headers) + frameBytes(destination, '', callers, declare);
    this.#largestCall = { correlationId, bytes };
  }

  /**
   * The connection ended for `reason`. After the broker's close for a frame over its limit, the
   * limit is lowered under the largest request sent on it: the error each call waiting ends with
   * instead of going out again, if any (that request's own, or check's). A request that went out,
   * is not sent again and was not the refused one gets none: it may have run, so it ends as any
   * other on a lost connection.
   */
  connectionLost(reason: RpcError): ((call: SizedCall) => RpcError | undefined) | undefined {
    const largest = this.#largestCall;
    this.#largestCall = undefined;
    if (!this.#largest.lost(reason) || largest === undefined) return undefined;
    this.#bytes = Math.min(this.#bytes, largest.bytes - 1);
    const refused = new RpcError(
      'INVALID_ARGUMENT',
      `the broker closed the connection on this request (${largest.bytes} bytes), over its frame limit: it is not sent again, and requests of ${largest.bytes} bytes or more are refused from now on; set maxRequestBytes (${this.#configured}) under the broker's limit`,
      { cause: reason },
    );
    return (call) => {
      if (call.correlationId === largest.correlationId) return refused;
      return call.delivery.sent && !call.request.idempotent ? undefined : this.check(call.request);
    };
  }
}
