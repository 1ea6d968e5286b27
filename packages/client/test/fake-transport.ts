// A connection the unit tests drive (the client's Transport, faked) and a client on it.
import { expect } from 'vitest';
import { RpcClient, type RpcClientOptions } from '../src/core/rpc-client.js';
import type { ConnectionState, IncomingMessage, Transport, TransportEvents } from '../src/core/transport.js';
import { RpcError } from '../src/errors.js';
import { Header } from '../src/protocol/wire.js';
import { ManualClock } from './manual-clock.js';

export interface Frame {
  destination: string;
  body: string;
  headers: Record<string, string>;
}

/** A connection the test drives: it records what the client sends and fires the events the test asks for. */
export class FakeTransport implements Transport {
  state: ConnectionState = 'connecting';
  url = 'ws://fake/ws';
  lastError: RpcError | undefined;
  reconnects = 0;
  /** Set by a test: the broker's final refusal of the login. */
  refusal: RpcError | undefined;
  started = false;
  readonly published: Frame[] = [];
  readonly subscriptions: Array<{ destination: string; onMessage: (message: IncomingMessage) => void }> = [];
  readonly drops: RpcError[] = [];
  /** Receipt ids of the probes written. */
  readonly probes: string[] = [];
  readonly #events: TransportEvents;
  #everConnected = false;
  #waiters: Array<{ resolve: () => void; reject: (error: RpcError) => void }> = [];

  constructor(events: TransportEvents) {
    this.#events = events;
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  start(): void {
    this.started = true;
  }

  whenConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  publish(frame: Frame): void {
    if (!this.connected) throw new RpcError('UNAVAILABLE', 'not connected');
    this.published.push(frame);
  }

  probe(receiptId: string): void {
    if (!this.connected) throw new RpcError('UNAVAILABLE', 'not connected');
    this.probes.push(receiptId);
  }

  subscribe(destination: string, onMessage: (message: IncomingMessage) => void): unknown {
    if (!this.connected) throw new RpcError('UNAVAILABLE', 'not connected');
    this.subscriptions.push({ destination, onMessage });
    return destination;
  }

  drop(reason: RpcError): void {
    this.drops.push(reason);
  }

  /** Set by a test: close() settles only once this does (a DISCONNECT waiting for its RECEIPT). */
  closing: Promise<void> = Promise.resolve();

  async close(): Promise<void> {
    this.state = 'closed';
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new RpcError('CLOSED', 'the connection was closed'));
    await this.closing;
  }

  // What the test fires:

  connect(): void {
    if (this.#everConnected) this.reconnects++;
    this.#everConnected = true;
    this.state = 'connected';
    this.#events.onConnected?.();
    for (const waiter of this.#waiters.splice(0)) waiter.resolve();
  }

  disconnect(reason = new RpcError('CONNECTION_LOST', 'the socket closed (1006)')): void {
    this.state = 'reconnecting';
    this.lastError = reason;
    this.subscriptions.length = 0;
    this.#events.onDisconnected?.(reason);
  }

  connectFailed(reason: RpcError): void {
    this.lastError = reason;
    this.#events.onConnectFailed?.(reason);
  }

  /** A MESSAGE to the reply queue. */
  deliver(headers: Record<string, string>, body = ''): void {
    this.#events.onUnhandledMessage?.({ headers, body });
  }

  receipt(receiptId: string): void {
    this.#events.onReceipt?.(receiptId);
  }

  /** The broker's RECEIPT for the latest ping. */
  confirmPing(): void {
    const ping = this.published.filter(isPing).at(-1);
    expect(ping).toBeDefined();
    this.receipt(ping?.headers[Header.receipt] as string);
  }

  /** A message on a subscription, e.g. an announcement on the presence topic. */
  announce(destination: string, body: string): void {
    for (const subscription of this.subscriptions) {
      if (subscription.destination === destination) subscription.onMessage({ headers: {}, body });
    }
  }

  /** The requests sent, pings and cancels (to amq.topic or through an exchange) left out. */
  requests(destination?: string): Frame[] {
    return this.published.filter(
      (frame) => !isPing(frame) && !isCancel(frame) && (destination === undefined || frame.destination === destination),
    );
  }

  /** The correlation ids of the cancels sent. */
  cancels(): string[] {
    return this.published.filter(isCancel).map((frame) => frame.headers[Header.correlationId] as string);
  }

  /** The correlation id of the only request sent so far. */
  onlyCorrelationId(): string {
    const requests = this.requests();
    expect(requests).toHaveLength(1);
    return requests[0]?.headers[Header.correlationId] as string;
  }

  /** The correlation id of the latest request sent. */
  lastCorrelationId(): string {
    return this.requests().at(-1)?.headers[Header.correlationId] as string;
  }
}

/**
 * A client on a fake transport and a manual clock; presence off unless the test turns it on. Each
 * request goes out at once as its own batch unless the test passes `defer` to hold the turns.
 */
// To amq.topic (PING_TOPIC, CANCEL_TOPIC) or through an exchange: the same routing keys (wire.ts signalDestinations).
const isPing = (frame: Frame) => frame.destination.endsWith('/rpc.ping');
const isCancel = (frame: Frame) => frame.destination.endsWith('/rpc.cancel');

export function fakeClient(options: RpcClientOptions = {}, defer: (send: () => void) => void = (send) => send()) {
  const clock = new ManualClock();
  let fake: FakeTransport | undefined;
  const client = new RpcClient(
    { presence: false, ...options },
    {
      clock,
      defer,
      random: () => 0, // pings exactly PROBE_AFTER_MS apart
      transport: (events) => {
        fake = new FakeTransport(events);
        return fake;
      },
    },
  );
  if (fake === undefined) throw new Error('the client did not make its transport');
  return { clock, client, transport: fake };
}
