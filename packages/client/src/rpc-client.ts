/*
 * Request/reply over one STOMP connection, for any service.
 *
 * Every request carries `reply-to: /temp-queue/stomp-rpc`: on the first such SEND of a connection
 * RabbitMQ creates a private reply queue and subscribes this connection to it, so all replies of
 * a client share one queue, and a reply is matched to its call by `correlation-id` (a Map of
 * pending calls). A reply nobody waits for any more (timed out, aborted, or a server answering
 * twice, as the tutorial warns) is dropped and counted.
 *
 * The reply queue dies with the connection. When the connection drops, requests already sent can
 * no longer be answered: idempotent ones go back to the unsent state and are sent again once
 * reconnected, the others reject with CONNECTION_LOST. Requests made while disconnected wait
 * for the connection. Every call has a deadline, so nothing waits forever.
 */
import type { IMessage } from '@stomp/stompjs';
import { v4 as uuidv4 } from 'uuid';
import { checkMs, RpcError } from './errors.js';
import { type ErrorCode, Header } from './protocol.js';
import { type ConnectionState, StompConnection, type StompConnectionOptions } from './stomp-connection.js';

/** Where replies go; the broker turns it into this connection's private amq.gen-... queue. */
const REPLY_TO = '/temp-queue/stomp-rpc';

export interface RpcClientOptions extends StompConnectionOptions {
  /** Deadline of a call when it does not set its own. @default 10000 */
  timeoutMs?: number;
  /** Connection state changes: connecting, connected, reconnecting (with the reason), closed. */
  onStateChange?: (state: ConnectionState, reason?: RpcError) => void;
}

export interface RequestOptions {
  /** This call's deadline, from now. @default the client's `timeoutMs` */
  timeoutMs?: number;
  /** Aborting rejects the call at once with ABORTED and frees what it held. */
  signal?: AbortSignal;
  /** Extra STOMP headers for the request (e.g. queue declaration headers). */
  headers?: Readonly<Record<string, string>>;
  /**
   * The request may be sent twice without harm. If the connection drops before the reply, an
   * idempotent request is sent again after reconnecting (within its deadline); any other rejects
   * with CONNECTION_LOST.
   * @default false
   */
  idempotent?: boolean;
}

export interface RpcReply {
  body: string;
  headers: Readonly<Record<string, string>>;
}

export interface RpcClientStats {
  /** Calls started. */
  calls: number;
  /** Calls that ended with a reply that was not an error. */
  succeeded: number;
  /** Calls that ended with an error, by code. */
  errors: Partial<Record<ErrorCode, number>>;
  /** Replies whose correlation-id matched no pending call (late, duplicate or foreign). */
  droppedReplies: number;
  /** Idempotent requests sent again after a reconnect. */
  resent: number;
  reconnects: number;
  /** Calls waiting for a reply or for the connection right now. */
  pending: number;
}

interface PendingCall {
  readonly destination: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly idempotent: boolean;
  readonly deadline: number;
  /** Captured at the call site so that asynchronous errors point at the caller's code. */
  readonly callSite: Error;
  readonly resolve: (reply: RpcReply) => void;
  readonly reject: (error: RpcError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
  /** Whether the request is out on the current connection. */
  sent: boolean;
  /** Times it was written to a connection. */
  sends: number;
}

export class RpcClient {
  readonly #connection: StompConnection;
  readonly #defaultTimeoutMs: number;
  readonly #pendingCalls = new Map<string, PendingCall>();
  /** Correlation ids are this client's random id plus a counter: unique, and cheap per call. */
  readonly #idPrefix = `${uuidv4()}.`;
  #nextId = 0;
  #closed = false;
  readonly #stats = { calls: 0, succeeded: 0, droppedReplies: 0, resent: 0 };
  readonly #errors: Partial<Record<ErrorCode, number>> = {};

  constructor(options: RpcClientOptions = {}) {
    this.#defaultTimeoutMs = checkMs(options.timeoutMs ?? 10_000, 'timeoutMs');
    this.#connection = new StompConnection(options, {
      onConnected: () => this.#sendUnsent(),
      onDisconnected: (reason) => this.#handleDisconnected(reason),
      onConnectFailed: (reason) => {
        // A refused login will not fix itself within a call's deadline: fail the waiting calls now.
        if (reason.code === 'UNAUTHENTICATED') {
          this.#rejectAll(() => new RpcError('UNAUTHENTICATED', reason.message, { cause: reason }));
        }
      },
      onUnhandledMessage: (message) => this.#handleReply(message),
      ...(options.onStateChange ? { onStateChange: options.onStateChange } : {}),
    });
    this.#connection.start();
  }

  get state(): ConnectionState {
    return this.#connection.state;
  }

  /** The broker URL in use (or being tried). */
  get url(): string {
    return this.#connection.url;
  }

  get stats(): RpcClientStats {
    return {
      ...this.#stats,
      errors: { ...this.#errors },
      reconnects: this.#connection.reconnects,
      pending: this.#pendingCalls.size,
    };
  }

  /**
   * Resolves once connected. Rejects with UNAVAILABLE when the broker cannot be reached within
   * `timeoutMs`, UNAUTHENTICATED when it refuses the login, CLOSED after close().
   */
  ready(timeoutMs = this.#defaultTimeoutMs): Promise<void> {
    return this.#connection.whenConnected(checkMs(timeoutMs, 'timeoutMs'));
  }

  /** Sends `body` to `destination` and resolves with the reply, or rejects with an RpcError. */
  request(destination: string, body: string, options: RequestOptions = {}): Promise<RpcReply> {
    const callSite = new Error();
    if (this.#closed) return Promise.reject(this.#failure(callSite, new RpcError('CLOSED', 'the client is closed')));
    const { signal } = options;
    if (signal?.aborted) {
      return Promise.reject(this.#failure(callSite, abortError(signal)));
    }
    let timeoutMs: number;
    try {
      timeoutMs = checkMs(options.timeoutMs ?? this.#defaultTimeoutMs, 'timeoutMs');
    } catch (error) {
      return Promise.reject(this.#failure(callSite, RpcError.from(error)));
    }

    this.#stats.calls++;
    const correlationId = this.#idPrefix + this.#nextId++;
    return new Promise<RpcReply>((resolve, reject) => {
      const onAbort = signal ? () => this.#settle(correlationId, abortError(signal)) : undefined;
      const call: PendingCall = {
        destination,
        body,
        headers: options.headers ?? {},
        idempotent: options.idempotent ?? false,
        deadline: Date.now() + timeoutMs,
        callSite,
        resolve,
        reject,
        timer: setTimeout(() => this.#settle(correlationId, this.#timeoutError(call, timeoutMs)), timeoutMs),
        signal,
        onAbort,
        sent: false,
        sends: 0,
      };
      this.#pendingCalls.set(correlationId, call);
      if (signal && onAbort) signal.addEventListener('abort', onAbort, { once: true });
      if (this.#connection.connected) this.#send(correlationId, call);
    });
  }

  /** Rejects every pending call with CLOSED and closes the connection. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#rejectAll(() => new RpcError('CLOSED', 'the client was closed'));
    await this.#connection.close();
  }

  #send(correlationId: string, call: PendingCall): void {
    const remainingMs = Math.max(1, call.deadline - Date.now());
    try {
      this.#connection.publish({
        destination: call.destination,
        body: call.body,
        headers: {
          ...call.headers,
          [Header.replyTo]: REPLY_TO,
          [Header.correlationId]: correlationId,
          [Header.expiration]: String(Math.ceil(remainingMs)),
        },
      });
      call.sent = true;
      if (++call.sends > 1) this.#stats.resent++;
    } catch {
      // The socket went away between the state check and the write: the call stays unsent and
      // goes out after the reconnect, within its deadline.
    }
  }

  #sendUnsent(): void {
    for (const [correlationId, call] of this.#pendingCalls) {
      if (!call.sent) this.#send(correlationId, call);
    }
  }

  #handleDisconnected(reason: RpcError): void {
    for (const [correlationId, call] of this.#pendingCalls) {
      if (!call.sent) continue;
      if (call.idempotent) {
        call.sent = false;
      } else {
        this.#settle(
          correlationId,
          new RpcError('CONNECTION_LOST', `the connection dropped before the reply: ${reason.message}`, {
            cause: reason,
          }),
        );
      }
    }
  }

  #handleReply(message: IMessage): void {
    const correlationId = message.headers[Header.correlationId];
    if (correlationId === undefined || !this.#pendingCalls.has(correlationId)) {
      this.#stats.droppedReplies++;
      return;
    }
    const errorCode = message.headers[Header.errorCode];
    this.#settle(
      correlationId,
      errorCode === undefined
        ? { body: message.body, headers: message.headers }
        : RpcError.fromReply(errorCode, message.body),
    );
  }

  /** Ends a call exactly once, releasing its timer, abort listener and map entry. */
  #settle(correlationId: string, outcome: RpcReply | RpcError): void {
    const call = this.#pendingCalls.get(correlationId);
    if (call === undefined) return;
    this.#pendingCalls.delete(correlationId);
    clearTimeout(call.timer);
    if (call.signal && call.onAbort) call.signal.removeEventListener('abort', call.onAbort);
    if (outcome instanceof RpcError) {
      call.reject(this.#failure(call.callSite, outcome));
    } else {
      this.#stats.succeeded++;
      call.resolve(outcome);
    }
  }

  #rejectAll(makeError: () => RpcError): void {
    for (const correlationId of [...this.#pendingCalls.keys()]) this.#settle(correlationId, makeError());
  }

  /** Counts the error and gives it the caller's stack. */
  #failure(callSite: Error, error: RpcError): RpcError {
    this.#errors[error.code] = (this.#errors[error.code] ?? 0) + 1;
    const frames = callSite.stack?.split('\n').slice(1).join('\n');
    if (frames) error.stack = `${error.name} [${error.code}]: ${error.message}\n${frames}`;
    return error;
  }

  /** TIMEOUT, with the connection's trouble as the cause when that is why no reply came. */
  #timeoutError(call: PendingCall, timeoutMs: number): RpcError {
    const trouble = this.#connection.lastError;
    if (this.#connection.connected && (call.sends <= 1 || trouble === undefined)) {
      return new RpcError('TIMEOUT', `no reply from ${call.destination} within ${timeoutMs} ms`);
    }
    const why = this.#connection.connected ? 'the connection dropped while it waited' : 'not connected to the broker';
    const detail = trouble ? `: ${trouble.message}` : '';
    return new RpcError('TIMEOUT', `no reply within ${timeoutMs} ms; ${why}${detail}`, { cause: trouble });
  }
}

function abortError(signal: AbortSignal): RpcError {
  return new RpcError('ABORTED', 'the call was aborted', { cause: signal.reason });
}
