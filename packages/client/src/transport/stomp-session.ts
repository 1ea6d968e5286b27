/*
 * One WebSocket's STOMP 1.2 session: the CONNECT handshake, frames in and out, subscriptions,
 * receipts, and watching the broker's heart-beats. It lives as long as its socket; reconnecting,
 * keepalives and error reporting are stomp-connection.ts's job.
 *
 * Frames are parsed and serialised by @stomp/stompjs (`Parser`, `FrameImpl`); its `Client` is not
 * used: we replaced its reconnecting, timeouts and heart-beats with our own, and what was left of
 * it was a third of the page's bundle. Both are marked internal in stompjs's types, which semver
 * does not cover: the package pins stompjs to 7.5.x, to be widened once a new minor is tested.
 * Three differences from stompjs on the wire:
 * - Only STOMP 1.2 is offered: the `ack` header of a MESSAGE, and escaped header values, are 1.2.
 * - A SEND carries `content-length` only when its body contains a NUL. Without it the broker reads
 *   the body up to the NUL that ends the frame; that is one header fewer for the broker to parse on
 *   every request and reply, and no UTF-8 encoding of every body just to count its bytes.
 * - Headers received are read here (readHeaders): stompjs 7.5 unescapes `\\n` (an escaped backslash,
 *   then n) to a line feed, and trims values, which STOMP 1.2 forbids.
 */
import { FrameImpl, type IRawFrameType, Parser, type StompHeaders } from '@stomp/stompjs';
import type { Clock, Timer } from '../core/clock.js';
import { MAX_TIMER_MS } from '../options.js';

/**
 * What the session needs of a WebSocket: the browser's, or `ws`'s in Node (which can `terminate`).
 * The handlers take `never` so that either kind's own event types fit.
 */
export interface StompSocket {
  readonly readyState: number;
  binaryType?: string;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string | ArrayBuffer): void;
  close(): void;
  terminate?(): void;
  /** Bytes sent but not yet handed to the network (the browser's WebSocket and `ws` have it). */
  readonly bufferedAmount?: number;
}

const OPEN = 1;
const CONNECTING = 0;
/** Missed heart-beat periods before the broker is presumed gone. */
const MISSED_BEATS = 2;

/** Bodies arrive as UTF-8 bytes; one decoder serves every frame (it keeps no state between calls). */
const utf8 = new TextDecoder();
const NO_BYTES = new Uint8Array(0);

/** A MESSAGE frame; `ack()` and `nack()` answer it on the session it came from. */
export class StompMessage {
  readonly headers: StompHeaders;
  readonly #bytes: Uint8Array;
  #body: string | undefined;
  readonly #session: StompSession;

  constructor(headers: StompHeaders, bytes: Uint8Array, session: StompSession) {
    this.headers = headers;
    this.#bytes = bytes;
    this.#session = session;
  }

  /** The body as text, decoded when first asked for (a body over a server's limit never is). */
  get body(): string {
    this.#body ??= utf8.decode(this.#bytes);
    return this.#body;
  }

  get byteLength(): number {
    return this.#bytes.byteLength;
  }

  /** Acknowledges it (and, in `ack:client` mode, every earlier one of its subscription). */
  ack(): void {
    this.#session.send('ACK', { id: this.headers.ack ?? '' });
  }

  /** Gives it back to the broker, which requeues it (RabbitMQ's `requeue` header, true here). */
  nack(): void {
    this.#session.send('NACK', { id: this.headers.ack ?? '', requeue: 'true' });
  }
}

export interface StompSessionOptions {
  /** `login`, `passcode` and `host` of the CONNECT frame. */
  connectHeaders: Readonly<Record<string, string>>;
  /** How often the broker is asked to send a heart-beat; 0: none. */
  heartbeatMs: number;
  clock: Clock;
  debug?: ((line: string) => void) | undefined;
}

export interface StompSessionEvents {
  /** CONNECTED arrived: the session is ready for frames. */
  connected(): void;
  /** Anything arrived from the broker (a frame or a heart-beat). */
  heard(): void;
  /** A MESSAGE no subscription of this session claims (replies to a `/temp-queue/`). */
  message(message: StompMessage): void;
  /** A RECEIPT nobody waits for. */
  receipt(receiptId: string): void;
  /**
   * An ERROR frame; `cancelled` when it names one of this session's subscriptions, which the
   * broker has ended ("Server cancelled subscription": its queue was deleted, say).
   */
  error(summary: string, detail: string, cancelled: string | undefined): void;
  /** The broker sent nothing for two heart-beat periods; the socket is discarded next. */
  heartbeatLost(): void;
  /** The socket reported an error; its close follows. */
  socketError(event: unknown): void;
  /** The socket is closed (or discarded); the session is over. Called once. */
  closed(event: unknown): void;
}

/** The subprotocol offered on the WebSocket, matching `accept-version`. */
export const STOMP_SUBPROTOCOLS = ['v12.stomp'];

export class StompSession {
  readonly #socket: StompSocket;
  readonly #options: StompSessionOptions;
  readonly #events: StompSessionEvents;
  readonly #subscriptions = new Map<string, (message: StompMessage) => void>();
  readonly #receiptWatchers = new Map<string, () => void>();
  #connected = false;
  #over = false;
  #lastHeardAt: number;
  #watchdog: Timer | undefined;
  #subscriptionIds = 0;
  /** Resolves disconnect() once the socket is closed. */
  #whenOver: (() => void) | undefined;

  constructor(socket: StompSocket, options: StompSessionOptions, events: StompSessionEvents) {
    this.#socket = socket;
    this.#options = options;
    this.#events = events;
    this.#lastHeardAt = options.clock.now();
    // A heart-beat is heard like any other data, in onmessage below: nothing more to do for one.
    const parser = new Parser(
      (frame) => this.#receive(frame),
      () => {},
    );
    socket.binaryType = 'arraybuffer';
    socket.onmessage = (event: { data: unknown }) => {
      if (this.#over) return;
      this.#lastHeardAt = options.clock.now();
      this.#events.heard();
      parser.parseChunk(event.data as string | ArrayBuffer);
    };
    socket.onerror = (event: unknown) => {
      if (!this.#over) this.#events.socketError(event);
    };
    socket.onclose = (event: unknown) => this.#end(event);
    socket.onopen = () => this.#sendConnect();
    if (socket.readyState === OPEN) this.#sendConnect();
  }

  /** Bytes written to the socket that the broker has not taken yet: it reads slowly or not at all. */
  get bufferedAmount(): number {
    return this.#socket.bufferedAmount ?? 0;
  }

  /** CONNECTED arrived and the socket is still open. */
  get connected(): boolean {
    return this.#connected && !this.#over && this.#socket.readyState === OPEN;
  }

  /** Writes one frame; throws when the session is not connected. */
  send(command: string, headers: StompHeaders, body = ''): void {
    if (!this.connected) throw new Error('not connected');
    this.#write(command, headers, body);
  }

  /** Writes data as it is (pre-built frames, an end-of-line); throws when not connected. */
  sendRaw(data: string): void {
    if (!this.connected) throw new Error('not connected');
    this.#socket.send(data);
  }

  /** Subscribes; `onReceipt` runs when the broker confirms it. Throws when not connected. */
  subscribe(
    destination: string,
    onMessage: (message: StompMessage) => void,
    headers: StompHeaders,
    onReceipt: () => void,
  ): string {
    const id = `sub-${this.#subscriptionIds++}`;
    const receipt = `subscribe-${id}`;
    this.send('SUBSCRIBE', { ...headers, id, destination, receipt });
    this.#subscriptions.set(id, onMessage);
    this.#receiptWatchers.set(receipt, onReceipt);
    return id;
  }

  /**
   * Ends the session politely: DISCONNECT, then the socket is closed once the broker's RECEIPT
   * shows it handled everything before (ACKs, replies). Resolves when the socket is closed or
   * discarded; bounded by `graceMs`, after which the socket is discarded.
   */
  disconnect(graceMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.#over) return resolve();
      const clock = this.#options.clock;
      const timer = clock.setTimeout(() => this.discard(), graceMs);
      this.#whenOver = () => {
        clock.clearTimeout(timer);
        resolve();
      };
      if (!this.connected) return this.#closeSocket();
      this.#receiptWatchers.set('disconnect', () => this.#closeSocket());
      try {
        this.#write('DISCONNECT', { receipt: 'disconnect' }, '');
      } catch {
        this.discard(); // the socket is going away already
      }
    });
  }

  /**
   * Drops the socket at once, without a closing handshake: `ws` can wait ~30 s for a dead peer's
   * close frame, and a browser's socket reports its close only when that arrives.
   */
  discard(): void {
    if (this.#over) return;
    const socket = this.#socket;
    if (typeof socket.terminate === 'function') socket.terminate();
    else if (socket.readyState === OPEN || socket.readyState === CONNECTING) socket.close();
    // Over now, not when the socket says so: a socket of the caller's factory may never report it.
    this.#end({ code: 1006, reason: 'discarded' });
  }

  #sendConnect(): void {
    if (this.#over || this.#socket.readyState !== OPEN) return;
    const headers: StompHeaders = {};
    // STOMP 1.2 escapes no CONNECT header, but RabbitMQ reads escapes in every frame (checked on
    // 3.10.8): a raw backslash in a login or passcode (CORP\alice) closes the socket with 1007, or
    // changes the secret (\n). Colons stay raw: RabbitMQ splits a header at its first one.
    for (const [name, value] of Object.entries(this.#options.connectHeaders)) headers[name] = escapeConnectValue(value);
    // Whole milliseconds: RabbitMQ answers `heart-beat:0,1500.5` with "Processing error" (3.10.8).
    const heartBeat = `0,${Math.ceil(this.#options.heartbeatMs)}`;
    this.#write('CONNECT', { ...headers, 'accept-version': '1.2', 'heart-beat': heartBeat });
  }

  #write(command: string, headers: StompHeaders, body = ''): void {
    this.#options.debug?.(`>>> ${command} ${describeHeaders(headers)}`);
    this.#socket.send(
      FrameImpl.marshall({
        command,
        headers,
        body,
        escapeHeaderValues: command !== 'CONNECT',
        skipContentLengthHeader: !body.includes('\0'),
      }),
    );
  }

  #receive(raw: IRawFrameType): void {
    if (this.#over) return;
    const command = raw.command ?? ''; // always set: the parser reports heart-beats apart
    const headers = readHeaders(raw);
    const bytes = raw.binaryBody ?? NO_BYTES;
    this.#options.debug?.(`<<< ${command} ${describeHeaders(headers)}`);
    if (command === 'MESSAGE') {
      const onMessage = this.#subscriptions.get(headers.subscription ?? '');
      const message = new StompMessage(headers, bytes, this);
      if (onMessage) onMessage(message);
      else this.#events.message(message);
    } else if (command === 'RECEIPT') {
      const receiptId = headers['receipt-id'] ?? '';
      const watcher = this.#receiptWatchers.get(receiptId);
      this.#receiptWatchers.delete(receiptId);
      if (watcher) watcher();
      else this.#events.receipt(receiptId);
    } else if (command === 'CONNECTED') {
      this.#handleConnected(headers);
    } else if (command === 'ERROR') {
      const { subscription } = headers;
      const cancelled =
        subscription !== undefined && this.#subscriptions.delete(subscription) ? subscription : undefined;
      this.#events.error(headers.message ?? 'ERROR frame', utf8.decode(bytes).trim(), cancelled);
    }
  }

  #handleConnected(headers: StompHeaders): void {
    this.#connected = true;
    // heart-beat: <broker sends every sx ms>,<broker wants every sy ms>; we asked for 0,<heartbeatMs>.
    const brokerSendsMs = Number.parseInt(headers['heart-beat']?.split(',')[0] ?? '0', 10) || 0;
    // A period no timer can wait is none (Node and browsers fire such a timer at once).
    if (this.#options.heartbeatMs > 0 && brokerSendsMs > 0 && brokerSendsMs <= MAX_TIMER_MS) {
      this.#watch(Math.max(this.#options.heartbeatMs, brokerSendsMs));
    }
    this.#events.connected();
  }

  /**
   * Checks every period that the broker was heard within the last MISSED_BEATS periods. A check
   * that finds it silent looks once more, right after the socket's pending reads: this side may
   * have stalled (a blocked event loop, a frozen page) with the broker's beats waiting unread, and
   * a timer that came due meanwhile runs before them.
   */
  #watch(periodMs: number, recheck = false): void {
    const clock = this.#options.clock;
    this.#watchdog = clock.setTimeout(
      () => {
        if (this.#over) return;
        // A clock set back (a restored VM, a time sync) would read as hearing from the future: count from now.
        if (clock.now() < this.#lastHeardAt) this.#lastHeardAt = clock.now();
        if (clock.now() - this.#lastHeardAt <= periodMs * MISSED_BEATS) {
          this.#watch(periodMs);
        } else if (!recheck) {
          this.#watch(periodMs, true); // a new timer runs after the socket's pending reads
        } else {
          this.#events.heartbeatLost();
          this.discard();
        }
      },
      recheck ? 1 : periodMs,
    );
  }

  #closeSocket(): void {
    const socket = this.#socket;
    if (socket.readyState === OPEN || socket.readyState === CONNECTING) socket.close();
  }

  #end(event: unknown): void {
    if (this.#over) return;
    this.#over = true;
    this.#connected = false;
    this.#options.clock.clearTimeout(this.#watchdog);
    this.#subscriptions.clear();
    this.#receiptWatchers.clear();
    this.#socket.onmessage = null;
    this.#socket.onopen = null;
    // Not null: `ws` throws an 'error' nobody listens to, as a socket discarded while it connects emits.
    this.#socket.onerror = ignoreEvent;
    this.#socket.onclose = null;
    this.#events.closed(event);
    this.#whenOver?.();
  }
}

/**
 * A frame's headers as STOMP 1.2 reads them: names and values unescaped in one pass (`\\r`, `\\n`,
 * `\\c`, `\\\\`), not trimmed, the first of a repeated header kept. CONNECTED's are not escaped.
 */
export function readHeaders(raw: IRawFrameType): StompHeaders {
  const escaped = raw.command !== 'CONNECTED';
  const headers: StompHeaders = {};
  for (const [name, value] of raw.headers) {
    const key = escaped ? unescapeHeader(name) : name;
    if (!Object.hasOwn(headers, key)) headers[key] = escaped ? unescapeHeader(value) : value;
  }
  return headers;
}

const UNESCAPED: Readonly<Record<string, string>> = { r: '\r', n: '\n', c: ':', '\\': '\\' };

function unescapeHeader(text: string): string {
  return text.includes('\\') ? text.replace(/\\(.)/g, (sequence, char: string) => UNESCAPED[char] ?? sequence) : text;
}

/** Headers for a debug line, with the passcode left out. */
function describeHeaders(headers: StompHeaders): string {
  return Object.entries(headers)
    .map(([name, value]) => `${name}:${name === 'passcode' ? '***' : value}`)
    .join(' ');
}

function ignoreEvent(): void {}

/** A CONNECT header value as RabbitMQ reads it back: backslash, CR and LF escaped. */
function escapeConnectValue(value: string): string {
  return value.replace(/[\\\r\n]/g, (char) => (char === '\\' ? '\\\\' : char === '\r' ? '\\r' : '\\n'));
}
