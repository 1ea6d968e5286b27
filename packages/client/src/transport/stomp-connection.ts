/*
 * One STOMP-over-WebSocket connection to RabbitMQ's Web-STOMP plugin that keeps itself up.
 *
 * Each attempt is one WebSocket and its STOMP session (stomp-session.ts); this file adds what RPC
 * needs around them:
 * - Reconnection as reconnect-policy.ts decides (URL rotation, backoff with jitter), with fresh
 *   credentials per attempt and a bound on each attempt.
 * - A reason for every way a connection ends. RabbitMQ 3.10 usually closes a Web-STOMP socket after
 *   a fatal error without delivering the ERROR frame (close code 1000, reason "STOMP died"); a
 *   refused login arrives as an ERROR frame ("Bad CONNECT") on a socket the broker leaves open,
 *   so that socket is closed here; a refused TCP connection only shows as a WebSocket error. Each
 *   becomes an RpcError with a code a caller can act on.
 * - In Node, `ws` with permessage-deflate off (it costs about 3x in throughput against the broker)
 *   and sockets discarded rather than closed after a heartbeat failure (`close()` can hang ~30 s).
 * - Heart-beats one way only. The broker sends them and a silent broker is dropped after two missed
 *   beats. The client negotiates none towards the broker: on RabbitMQ 3.10 the broker's
 *   heart-beat receiver crashes ({unexpected_message,resume}) when flow control pauses a busy
 *   Web-STOMP connection (a burst of a few thousand SENDs does it), leaving a socket that is open
 *   but dead. Web-STOMP still closes a connection it hears nothing from for 60 s (its WebSocket
 *   idle timeout), so the client writes a bare end-of-line every `keepaliveMs`, which STOMP allows
 *   between frames and the broker ignores, and answers the broker's heart-beats with one: timers
 *   in a hidden browser tab may run once a minute, messages still arrive (keepalive.ts).
 * - A page that comes back (shown, resumed, online; page-lifecycle.ts) checks its connection at
 *   once: one silent for longer than Web-STOMP tolerates is replaced before a call is sent on it,
 *   and a reconnect waiting out its backoff (whose timer a hidden tab may have held back) goes now.
 */

import { defaultWebSocketFactory } from '#default-websocket';
import { systemClock } from '../core/clock.js';
import type { ConnectionState, Transport, TransportEvents } from '../core/transport.js';
import { CLIENT_DEFAULTS } from '../defaults.js';
import { RpcError } from '../errors.js';
import { checkFunction, checkMs } from '../options.js';
import { probeFrames } from '../protocol/wire.js';
import { settleable } from '../settleable.js';
import { Waiters } from '../waiters.js';
import { AttemptPacer } from './attempt-pacer.js';
import { type CredentialsSource, Login } from './credentials.js';
import { EndReason, standingRefusal } from './end-reason.js';
import { Keepalive } from './keepalive.js';
import { watchPageReturn } from './page-lifecycle.js';
import { ReconnectPolicy } from './reconnect-policy.js';
import {
  STOMP_SUBPROTOCOLS,
  type StompMessage,
  StompSession,
  type StompSessionOptions,
  type StompSocket,
} from './stomp-session.js';

export type { ConnectionState } from '../core/transport.js';

/** Opens a WebSocket to `url` offering the STOMP subprotocols `protocols`. */
export type WebSocketFactory = (url: string, protocols: string[]) => StompSocket;

/** PEM text or bytes (a Buffer is one). */
type Pem = string | Uint8Array;

/** What Node's `ws` takes beyond the client's own options (its `ClientOptions`, the common part). */
export interface NodeWebSocketOptions {
  /** Certificate authorities to trust for `wss://`, in place of Node's (a private CA). */
  ca?: Pem | Pem[] | undefined;
  /** A client certificate and its key, for a broker that asks for one. */
  cert?: Pem | Pem[] | undefined;
  key?: Pem | Pem[] | undefined;
  passphrase?: string | undefined;
  /** @default true */
  rejectUnauthorized?: boolean | undefined;
  /** The name the broker's certificate is checked against, when it differs from the URL's host. */
  servername?: string | undefined;
  /** Extra HTTP headers of the WebSocket handshake. */
  headers?: Record<string, string> | undefined;
}
export type { StompMessage, StompSocket } from './stomp-session.js';

export interface StompConnectionOptions {
  /**
   * Web-STOMP endpoint, or several (e.g. one per cluster node): when a connection attempt fails or
   * a connection is lost, the next one is tried (failover).
   * @default 'ws://127.0.0.1:15674/ws'
   */
  url?: string | readonly string[] | undefined;
  /**
   * Start from a random URL of the list, so that clients spread across the nodes; false: always
   * start from the first (e.g. a preferred node).
   * @default true
   */
  randomizeUrls?: boolean | undefined;
  /** @default 'guest' (RabbitMQ lets guest in from loopback only) */
  login?: string | undefined;
  /** @default 'guest' */
  passcode?: string | undefined;
  /**
   * Called before every connection attempt, for credentials that expire (an OAuth 2.0 token as the
   * passcode): each (re)connect presents a fresh one. Overrides `login` and `passcode`. A refused
   * login fails waiting calls with UNAUTHENTICATED only once a fresh one was refused too. Bounded
   * by `connectTimeoutMs`; when it fails, the attempt goes with the last credentials it gave, and
   * before it has answered once, no attempt goes (not as the default guest).
   */
  credentials?: CredentialsSource | undefined;
  /** RabbitMQ virtual host. @default '/' */
  vhost?: string | undefined;
  /**
   * How the WebSocket is made. Defaults to the global `WebSocket` in browsers and to `ws` (with
   * compression off) in Node.
   */
  webSocketFactory?: WebSocketFactory | undefined;
  /**
   * Node only: options for `ws`'s WebSocket (a private CA for `wss://`, a client certificate,
   * headers), added to the client's own, which stay: no compression, no UTF-8 check of bodies. A
   * page's WebSocket takes none, as its browser decides whom to trust: INVALID_ARGUMENT there. Not
   * used with `webSocketFactory`.
   */
  webSocketOptions?: NodeWebSocketOptions | undefined;
  /** How often the broker must send a heart-beat; two missed beats drop the connection. 0: none. @default 10000 */
  heartbeatMs?: number | undefined;
  /**
   * How often an end-of-line keeps an idle connection open (Web-STOMP closes silent ones after 60 s);
   * each heart-beat from the broker is answered with one too when none went out for this long. 0: none.
   * @default 20000
   */
  keepaliveMs?: number | undefined;
  /** Give up on one connection attempt after this long. @default 5000 */
  connectTimeoutMs?: number | undefined;
  /** First delay before reconnecting; doubles per failed attempt, with jitter. @default 250 */
  reconnectDelayMs?: number | undefined;
  /** Cap on the reconnect delay. @default 10000 */
  maxReconnectDelayMs?: number | undefined;
  /** Receives a line per frame sent and received (the passcode left out); off by default. What it throws is ignored. */
  debug?: ((line: string) => void) | undefined;
}

export interface StompConnectionEvents extends Omit<TransportEvents, 'onUnhandledMessage'> {
  /** A MESSAGE no subscription claimed: replies to a `/temp-queue/` arrive here. */
  onUnhandledMessage?: (message: StompMessage) => void;
  /** An ERROR frame on a live connection (e.g. "Server cancelled subscription"). */
  onBrokerError?: (error: RpcError) => void;
}

export class StompConnection implements Transport {
  readonly #policy: ReconnectPolicy;
  readonly #events: StompConnectionEvents;
  readonly #settings: SessionSettings;
  readonly #keepalive: Keepalive;
  readonly #pacer: AttemptPacer;
  /** The session of the current socket; a new one per attempt. */
  #session: StompSession | undefined;
  /** Stops listening to the page's lifecycle events; set from start() to close(). */
  #stopWatchingPage: (() => void) | undefined;
  /** Ends an attempt that hangs. */
  #attemptTimer: ReturnType<typeof setTimeout> | undefined;
  #state: ConnectionState = 'connecting';
  #started = false;
  /** Why the last attempt or connection ended; filled in by the socket and STOMP callbacks. */
  #lastError: RpcError | undefined;
  readonly #ending = new EndReason();
  readonly #waiters = new Waiters();
  #reconnects = 0;
  readonly #login: Login;
  #everConnected = false;
  #connectedAt = 0;
  #closing: Promise<void> | undefined; // close()'s one promise, for every caller

  constructor(options: StompConnectionOptions = {}, events: StompConnectionEvents = {}) {
    this.#policy = reconnectPolicy(options);
    this.#events = events;
    this.#settings = sessionSettings(options);
    this.#pacer = new AttemptPacer(systemClock, () => this.#policy.delayMs());
    const keepaliveMs = checkMs(options.keepaliveMs ?? CLIENT_DEFAULTS.keepaliveMs, 'keepaliveMs', 0);
    this.#keepalive = new Keepalive(systemClock, keepaliveMs, {
      send: () => sendEndOfLine(this.#session),
      lapsed: (silentMs) => this.#dropSilent(silentMs),
    });
    this.#login = new Login(options.credentials);
  }

  /** The broker URL in use or being tried, without a user and password it may carry (for logs, errors). */
  get url(): string {
    return withoutCredentials(this.#policy.url);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get connected(): boolean {
    return this.#state === 'connected';
  }

  /** Why the connection last failed or ended, if it did. */
  get lastError(): RpcError | undefined {
    return this.#lastError;
  }

  /** While not connected, a final refusal (the login, or every URL by the browser), if the last attempt ended so. */
  get refusal(): RpcError | undefined {
    return this.#state === 'connected' ? undefined : standingRefusal(this.#lastError);
  }

  /** Successful connections after the first one. */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** Bytes sent on the current socket that the broker has not taken yet (0 without one). */
  get bufferedAmount(): number {
    return this.#session?.bufferedAmount ?? 0;
  }

  /** Changes with every new connection; once a message's connection is gone, the broker requeued it. */
  get generation(): number {
    return this.#reconnects + (this.#everConnected ? 1 : 0);
  }

  start(): void {
    if (this.#state === 'closed') throw new RpcError('CLOSED', 'the connection is closed');
    this.#stopWatchingPage ??= watchPageReturn(() => this.#pageReturned());
    if (this.#started) return;
    this.#started = true;
    void this.#attempt();
  }

  /**
   * Resolves once connected. Rejects with UNAUTHENTICATED as soon as the broker refuses the login,
   * or INVALID_ARGUMENT once the browser has refused every URL (at once while the refusal stands),
   * with UNAVAILABLE (the last failure as `cause`) after `timeoutMs`, and with CLOSED on close().
   */
  whenConnected(timeoutMs: number): Promise<void> {
    if (this.#state === 'connected') return Promise.resolve();
    if (this.#state === 'closed') return Promise.reject(new RpcError('CLOSED', 'the connection is closed'));
    if (this.refusal) return Promise.reject(this.refusal);
    return this.#waiters.wait(timeoutMs, () => notConnectedError(this.url, timeoutMs, this.#lastError));
  }

  /** Sends a frame; throws when not connected (the caller decides whether to wait or fail). */
  publish(frame: { destination: string; body: string; headers: Record<string, string> }): void {
    this.#live().send('SEND', { destination: frame.destination, ...frame.headers }, frame.body);
    this.#keepalive.sent();
  }

  /** Writes a probe (protocol/wire.ts probeFrames); throws when not connected. */
  probe(receiptId: string): void {
    const session = this.#live();
    for (const frame of probeFrames(receiptId)) session.sendRaw(frame);
    this.#keepalive.sent();
  }

  /**
   * Subscribes; `confirmed` resolves when the broker's RECEIPT shows the subscription (and the
   * queue it declares) exists. Throws when not connected.
   */
  subscribe(
    destination: string,
    onMessage: (message: StompMessage) => void,
    headers: Record<string, string>,
  ): { id: string; confirmed: Promise<void> } {
    const session = this.#live();
    const { promise: confirmed, resolve: confirm } = settleable();
    const id = session.subscribe(
      destination,
      (message) => {
        if (this.#state !== 'closed') onMessage(message);
      },
      headers,
      confirm,
    );
    this.#keepalive.sent();
    return { id, confirmed };
  }

  /** Drops a live connection that misbehaves, for `reason`; reconnecting (to the next URL) follows. */
  drop(reason: RpcError): void {
    if (this.#state !== 'connected') return;
    this.#ending.set(reason);
    this.#session?.discard();
  }

  /**
   * Closes the connection and stops reconnecting. Bounded: a stuck socket is dropped after `graceMs`.
   * From the moment it is called, nothing more is delivered to the owner: frames still arriving
   * while the socket closes (a pong, a late reply) must not wake it up again and start timers.
   */
  close(graceMs = 2000): Promise<void> {
    if (this.#closing) return this.#closing;
    const closed = settleable();
    this.#closing = closed.promise; // first: an onStateChange('closed') that closes again gets it
    this.#setState('closed');
    this.#pacer.wake();
    this.#login.close();
    clearTimeout(this.#attemptTimer);
    this.#keepalive.stop();
    this.#stopWatchingPage?.();
    this.#waiters.settle(new RpcError('CLOSED', 'the connection was closed'));
    Promise.resolve(this.#session?.disconnect(graceMs)).then(closed.resolve, closed.reject);
    return this.#closing;
  }

  /** The connected session; throws when there is none or it was silent too long (keepalive.ts). */
  #live(): StompSession {
    const session = this.#session;
    if (this.#state !== 'connected' || !session || this.#keepalive.reportIfLapsed()) throw new Error('not connected');
    return session;
  }

  /** One connection attempt, after the backoff; the session's close starts the next. */
  async #attempt(): Promise<void> {
    if (this.#state === 'closed' || this.#policy.exhausted) return; // refused by the browser: final
    const go = await this.#waitBeforeAttempt();
    // close() may also have run while this resumed, after the wait's own last check
    if (!go || this.state === 'closed') return;
    const { createWebSocket, ...sessionOptions } = this.#settings;
    const socket = openSocket(createWebSocket, this.#policy, this.#login.missing, this.#ending);
    this.#session = new StompSession(socket, sessionOptions, {
      connected: () => this.#handleConnected(),
      heard: () => {
        this.#ending.heard();
        this.#keepalive.heard();
      },
      message: (message) => {
        if (this.#state !== 'closed') this.#events.onUnhandledMessage?.(message);
      },
      receipt: (receiptId) => {
        if (this.#state !== 'closed') this.#events.onReceipt?.(receiptId);
      },
      error: (summary, detail, cancelled) => this.#handleStompError(summary, detail, cancelled),
      heartbeatLost: () => this.#ending.set(new RpcError('CONNECTION_LOST', `no heart-beat from ${this.url}`)),
      socketError: (event) => this.#ending.suggest(socketError(this.url, this.#state === 'connected', event)),
      closed: (event) => this.#handleClosed(event),
    });
  }

  /** Backoff, fresh credentials and the attempt's timer; false when closed meanwhile. */
  async #waitBeforeAttempt(): Promise<boolean> {
    await this.#pacer.wait();
    // When the source fails, the attempt goes with the last credentials (Login.explain), or none.
    if (this.#state !== 'closed')
      await this.#login.refresh(this.#settings.connectHeaders, this.#settings.connectTimeoutMs);
    if (this.#state === 'closed') return false;
    clearTimeout(this.#attemptTimer);
    this.#attemptTimer = setTimeout(() => {
      this.#ending.suggest(attemptTimeoutError(this.url, this.#settings.connectTimeoutMs));
      this.#session?.discard();
    }, this.#settings.connectTimeoutMs);
    return true;
  }

  #handleConnected(): void {
    clearTimeout(this.#attemptTimer);
    if (this.#state === 'closed') return;
    if (this.#everConnected) this.#reconnects++;
    this.#everConnected = true;
    this.#login.connected();
    this.#connectedAt = Date.now();
    this.#ending.clear();
    this.#keepalive.start();
    this.#state = 'connected'; // announced once the owner set it up: as after ready(), for calls made then
    try {
      this.#events.onConnected?.();
    } finally {
      if (this.#state === 'connected') ignoringThrows(() => this.#events.onStateChange?.('connected'));
      if (this.#state === 'connected') this.#waiters.settle(); // dropped meanwhile: ready() waits for the next
    }
  }

  /** An ERROR frame; `cancelled`: it ends one of the session's subscriptions, not the connection. */
  #handleStompError(summary: string, body: string, cancelled: string | undefined): void {
    if (this.#state === 'closed') return; // closing: the DISCONNECT's RECEIPT or its grace ends it
    const detail = body ? ` (${body})` : '';
    if (this.#state !== 'connected') {
      // A refused login: RabbitMQ keeps the socket open, so close it and try again later.
      const refused = loginRefusal(summary, detail);
      const final = refused !== undefined && this.#login.refused(refused === 'vhost'); // else: retried
      const error = new RpcError(
        final ? 'UNAUTHENTICATED' : 'UNAVAILABLE',
        `${this.url} refused the connection: ${summary}${detail}`,
      );
      this.#ending.set(error); // final: the close settles what waits (#handleClosed)
      this.#session?.discard();
      return;
    }
    // CONNECTION_LOST: if the socket closes next, this is why a live connection was lost.
    const error = new RpcError('CONNECTION_LOST', `broker error: ${summary}${detail}`);
    this.#events.onBrokerError?.(error);
    if (cancelled === undefined) {
      this.#ending.brokerError(error); // RabbitMQ closes the connection after a fatal one
    } else {
      // The broker ended a subscription (its queue deleted, say) and kept the connection: a new one
      // subscribes again (a `/queue/` one declares its queue), after the usual backoff, not in a loop.
      this.drop(new RpcError('CONNECTION_LOST', `the broker cancelled subscription ${cancelled}: ${summary}`));
    }
  }

  #handleClosed(event: unknown): void {
    clearTimeout(this.#attemptTimer);
    this.#keepalive.stop();
    this.#session = undefined;
    if (this.#state === 'closed') return;
    const wasConnected = this.#state === 'connected';
    const ended = this.#ending.take(event, this.url, wasConnected);
    const reason = wasConnected ? ended : this.#login.explain(ended);
    this.#lastError = reason;
    try {
      if (wasConnected) {
        this.#policy.connectionLost(Date.now() - this.#connectedAt);
        this.#setState('reconnecting', reason);
        this.#events.onDisconnected?.(reason);
      } else {
        this.#policy.attemptFailed();
        if (this.#state !== 'connecting') this.#setState('reconnecting', reason);
        if (this.refusal) this.#waiters.settle(this.refusal); // final: a login, or a URL the browser refuses
        this.#events.onConnectFailed?.(reason);
      }
    } finally {
      void this.#attempt(); // even when a handler threw; not when it closed the connection
    }
  }

  /** The page came back after its timers may have been throttled or stopped: check at once. */
  #pageReturned(): void {
    // Connected: an end-of-line now, or #dropSilent. Otherwise the backoff's timer may have been held
    // back while the page was hidden (or offline): a waiting attempt (if any is left) goes now.
    if (this.#state === 'connected') this.#keepalive.check();
    else if (this.#state !== 'closed') this.#pacer.wake();
  }

  /** Nothing went out for so long that the broker has most likely closed the connection already. */
  #dropSilent(silentMs: number): void {
    if (this.#state !== 'connected') return;
    this.#pacer.skipNext();
    this.drop(silenceError(this.url, silentMs));
  }

  #setState(state: ConnectionState, reason?: RpcError): void {
    if (state === this.#state) return;
    this.#state = state;
    ignoringThrows(() => this.#events.onStateChange?.(state, reason));
  }
}

/** Runs an application's callback whose throw must not stop the connection cleaning up or reconnecting. */
function ignoringThrows(callback: () => void): void {
  try {
    callback();
  } catch {
    // the application's own fault; the connection goes on
  }
}

/** A bare end-of-line: STOMP allows it between frames, and Web-STOMP counts it as traffic. */
function sendEndOfLine(session: StompSession | undefined): void {
  try {
    session?.sendRaw('\n');
  } catch {
    // the socket is going away; its close event reports why
  }
}

/** The URLs to try and the backoff between attempts, from the options (checked). */
function reconnectPolicy(options: StompConnectionOptions): ReconnectPolicy {
  return new ReconnectPolicy({
    urls: checkUrls(typeof options.url === 'string' ? [options.url] : (options.url ?? [CLIENT_DEFAULTS.url])),
    randomizeUrls: options.randomizeUrls ?? CLIENT_DEFAULTS.randomizeUrls,
    reconnectDelayMs: checkMs(options.reconnectDelayMs ?? CLIENT_DEFAULTS.reconnectDelayMs, 'reconnectDelayMs'),
    maxReconnectDelayMs: checkMs(
      options.maxReconnectDelayMs ?? CLIENT_DEFAULTS.maxReconnectDelayMs,
      'maxReconnectDelayMs',
    ),
  });
}

/** What each attempt's session is opened with. */
interface SessionSettings extends StompSessionOptions {
  createWebSocket: WebSocketFactory;
  connectHeaders: Record<string, string>;
  connectTimeoutMs: number;
}

function sessionSettings(options: StompConnectionOptions): SessionSettings {
  return {
    createWebSocket:
      checkFunction(options.webSocketFactory, 'webSocketFactory') ?? defaultWebSocketFactory(options.webSocketOptions),
    // Refreshed in place before each attempt when `credentials` is given (credentials.ts).
    connectHeaders: {
      login: options.login ?? CLIENT_DEFAULTS.login,
      passcode: options.passcode ?? CLIENT_DEFAULTS.passcode,
      host: options.vhost ?? CLIENT_DEFAULTS.vhost,
    },
    connectTimeoutMs: checkMs(options.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs, 'connectTimeoutMs'),
    heartbeatMs: checkMs(options.heartbeatMs ?? CLIENT_DEFAULTS.heartbeatMs, 'heartbeatMs', 0),
    clock: systemClock,
    // A debug callback that throws must not stop the frame it describes going out (or being read).
    debug: options.debug && ((line) => ignoringThrows(() => options.debug?.(line))),
  };
}

/**
 * Opens the socket to the policy's URL; a factory that throws, or credentials still `missing`,
 * make a failed attempt with its reason (and the backoff applies). A URL the browser refuses is
 * skipped from then on; once it has refused them all, that is final (INVALID_ARGUMENT).
 */
function openSocket(
  createWebSocket: WebSocketFactory,
  policy: { readonly url: string; refused(url: string): boolean },
  missing: RpcError | undefined,
  ending: { set(reason: RpcError): void },
): StompSocket {
  const { url } = policy;
  if (missing) {
    ending.set(missing);
    return closedSocket();
  }
  try {
    return createWebSocket(url, STOMP_SUBPROTOCOLS);
  } catch (error) {
    const why = RpcError.from(error).message;
    const shown = withoutCredentials(url);
    if (!isBrowserRefusal(error)) ending.set(new RpcError('UNAVAILABLE', `cannot open ${shown}: ${why}`));
    else {
      const code = policy.refused(url) ? 'INVALID_ARGUMENT' : 'UNAVAILABLE';
      ending.set(new RpcError(code, `the browser refuses to open ${shown}${mixedContent(url)}: ${why}`));
    }
    return closedSocket();
  }
}

/**
 * A browser's WebSocket constructor throws a SecurityError for a URL the page may never open
 * (Chromium for `ws://` from an https page, as mixed content): no retry will open it.
 */
function isBrowserRefusal(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'SecurityError';
}

/** Why, when it is the likely reason: a page served over https may open only wss:// URLs. */
function mixedContent(url: string): string {
  const page = (globalThis as { location?: { protocol?: unknown } }).location?.protocol;
  return page === 'https:' && url.startsWith('ws:') ? ' (a page served over https may open only wss:// URLs)' : '';
}

function notConnectedError(url: string, timeoutMs: number, cause: RpcError | undefined): RpcError {
  const detail = cause ? `: ${cause.message}` : '';
  return new RpcError('UNAVAILABLE', `not connected to ${url} within ${timeoutMs} ms${detail}`, { cause });
}

function attemptTimeoutError(url: string, connectTimeoutMs: number): RpcError {
  return new RpcError('UNAVAILABLE', `no STOMP session with ${url} within ${connectTimeoutMs} ms`);
}

function silenceError(url: string, silentMs: number): RpcError {
  return new RpcError(
    'CONNECTION_LOST',
    `sent nothing to ${url} for ${Math.round(silentMs / 1000)} s (timers stopped: a frozen or hidden page, a machine asleep, a blocked event loop); Web-STOMP closes a connection silent for 60 s`,
  );
}

/**
 * `url` without its user and password (`ws` sends them as Basic auth): they must not reach logs or
 * errors. A URL with an '@' that does not parse, or parses with no user (a password holding '/',
 * '?' or '#' read as a host or path; a URL without its scheme), loses everything up to its last
 * '@': showing too little beats showing a secret.
 */
function withoutCredentials(url: string): string {
  if (!url.includes('@')) return url;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // shown as below
  }
  if (parsed === undefined || (parsed.username === '' && parsed.password === '')) {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, '$1');
  }
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}

/**
 * Whether an ERROR before CONNECTED refuses the login (which may be final), and whether it is the
 * vhost's refusal; undefined for another failure. RabbitMQ (3.10, rabbit_direct) answers a vhost at
 * its connection limit as a user without access to it: "Virtual host '…' access denied". Those are
 * final only after a while (Login.refused), so a client gets in once a connection frees up.
 */
function loginRefusal(summary: string, detail: string): 'login' | 'vhost' | undefined {
  if (!/CONNECT|access refused|login/i.test(summary + detail)) return undefined;
  return /virtual host .* access denied/i.test(detail) ? 'vhost' : 'login';
}

/**
 * What a socket's error event means: the broker not reached, or, on a live connection, the
 * connection lost (a browser fires it before the close when a broker dies).
 */
function socketError(url: string, live: boolean, event: unknown): RpcError {
  // `ws` puts the system error on the event; browsers deliberately say nothing.
  const message = (event as { message?: unknown } | undefined)?.message;
  const why = typeof message === 'string' && message !== '' ? message : 'WebSocket error';
  if (live) return new RpcError('CONNECTION_LOST', `lost the connection to ${url}: ${why}`);
  return new RpcError('UNAVAILABLE', `cannot reach ${url}: ${why}`);
}

function checkUrls(urls: readonly string[]): string[] {
  if (urls.length === 0) throw new RpcError('INVALID_ARGUMENT', 'url: at least one broker URL is needed');
  return urls.map((url) => {
    let protocol: string | undefined;
    try {
      protocol = new URL(url).protocol;
    } catch {
      // reported below
    }
    const shown = JSON.stringify(withoutCredentials(url));
    if (protocol !== 'ws:' && protocol !== 'wss:') {
      throw new RpcError('INVALID_ARGUMENT', `url must be a ws:// or wss:// URL, got ${shown}`);
    }
    // Browsers throw a SyntaxError for a WebSocket URL with a fragment, even an empty one.
    if (url.includes('#')) throw new RpcError('INVALID_ARGUMENT', `url must have no #fragment, got ${shown}`);
    return url;
  });
}

/** Stands in for a WebSocket that could not even be created: it closes as soon as it is watched. */
export function closedSocket(): StompSocket {
  const socket = {
    readyState: 3,
    onclose: null as ((event: unknown) => void) | null,
    onerror: null,
    onmessage: null,
    onopen: null,
    close: () => {},
    send: () => {},
  };
  setTimeout(() => socket.onclose?.({ code: 1006, reason: '' }), 0);
  return socket;
}
