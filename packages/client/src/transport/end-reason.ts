/*
 * Why a connection attempt or a connection ended. The socket's close event rarely says: the
 * reason is learned before it (a refused login, a heart-beat missed, an attempt given up, an ERROR
 * frame) and kept here until the close comes.
 */
import { RpcError } from '../errors.js';

/** The errors of closes the broker made after a fatal STOMP error (see take and closeReason). */
const fatalCloses = new WeakSet<RpcError>();

/** Whether the broker closed the connection after a fatal STOMP error, rather than it being lost. */
export function isFatalStompClose(error: RpcError): boolean {
  return fatalCloses.has(error);
}

/** The errors of closes the broker made for a frame of ours over its size limit. */
const oversizedFrameCloses = new WeakSet<RpcError>();

/** Whether the broker closed the connection for a frame over its size limit (WebSocket close 1009). */
export function isOversizedFrameClose(error: RpcError): boolean {
  return oversizedFrameCloses.has(error);
}

export class EndReason {
  #known: RpcError | undefined;
  /**
   * An ERROR frame on a live connection: the likely reason if the socket closes next. Forgotten
   * once more data is heard: not every ERROR is fatal (an unknown destination, say), and a close
   * minutes later has a reason of its own.
   */
  #brokerError: RpcError | undefined;

  /** The reason the socket is about to close for. */
  set(reason: RpcError): void {
    this.#known = reason;
  }

  /** A reason, unless one is known already (a socket error comes before its close, say). */
  suggest(reason: RpcError): void {
    this.#known ??= reason;
  }

  brokerError(error: RpcError): void {
    this.#brokerError = error;
  }

  /** Data came in: the connection outlived any ERROR before it. */
  heard(): void {
    this.#brokerError = undefined;
  }

  /** The socket closed: the reason learned before, or one read from its close event; forgets both. */
  take(event: unknown, url: string, wasConnected: boolean): RpcError {
    const closed = closeReason(event, url, wasConnected);
    // A frame over the broker's limit is refused at once, whatever ERROR came before it.
    const brokerError = oversizedFrameCloses.has(closed) ? undefined : this.#brokerError;
    // An ERROR frame that nothing followed but the close: the broker ended the connection for it.
    if (this.#known === undefined && brokerError) fatalCloses.add(brokerError);
    const reason = this.#known ?? brokerError ?? closed;
    this.clear();
    return reason;
  }

  clear(): void {
    this.#known = undefined;
    this.#brokerError = undefined;
  }
}

/**
 * A final refusal, when that is how the last attempt ended (a new error each time): the broker's
 * of the login (UNAUTHENTICATED), or the browser's of the URL (INVALID_ARGUMENT).
 */
export function standingRefusal(lastError: RpcError | undefined): RpcError | undefined {
  if (lastError?.code !== 'UNAUTHENTICATED' && lastError?.code !== 'INVALID_ARGUMENT') return undefined;
  return new RpcError(lastError.code, lastError.message, { cause: lastError });
}

function closeReason(event: unknown, url: string, wasConnected: boolean): RpcError {
  const { code, reason } = (event ?? {}) as { code?: number; reason?: string };
  if (reason === 'STOMP died') {
    // RabbitMQ 3.10's Web-STOMP after a fatal error, whose ERROR frame it does not deliver.
    const error = new RpcError(
      'CONNECTION_LOST',
      `${url} closed the connection after a fatal STOMP error (e.g. access_refused, not_found, precondition_failed, resource_locked; see the broker log)`,
    );
    fatalCloses.add(error);
    return error;
  }
  if (code === 1009 && wasConnected) {
    // The broker's answer to a frame over its limit (Web-STOMP's max_frame_size): one of ours.
    const error = new RpcError(
      'CONNECTION_LOST',
      `${url} closed the connection on a frame over its size limit (WebSocket close 1009)`,
    );
    oversizedFrameCloses.add(error);
    return error;
  }
  const how = `WebSocket closed${code === undefined ? '' : ` with code ${code}`}${reason ? ` (${reason})` : ''}`;
  return wasConnected
    ? new RpcError('CONNECTION_LOST', `lost the connection to ${url}: ${how}`)
    : new RpcError('UNAVAILABLE', `cannot connect to ${url}: ${how}`);
}
