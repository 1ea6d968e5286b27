import type { RpcError } from '../errors.js';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** A message as the client reads it. */
export interface IncomingMessage {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What the client hears from its connection. */
export interface TransportEvents {
  /** Called on every (re)connection, before waiters are released: (re)subscribe here. */
  onConnected?: () => void;
  /** The connection went away; `reason` says why. Not called for close(). */
  onDisconnected?: (reason: RpcError) => void;
  /** A MESSAGE no subscription claimed: replies to a `/temp-queue/` arrive here. */
  onUnhandledMessage?: (message: IncomingMessage) => void;
  /** A RECEIPT for a frame sent with a `receipt` header. */
  onReceipt?: (receiptId: string) => void;
  /** One connection attempt failed (refused, unreachable, login refused); reconnecting goes on, unless the browser refused every URL. */
  onConnectFailed?: (reason: RpcError) => void;
  onStateChange?: (state: ConnectionState, reason?: RpcError) => void;
}

/** The connection the client needs: transport/stomp-connection.ts in production, a fake in unit tests. */
export interface Transport {
  readonly state: ConnectionState;
  readonly connected: boolean;
  readonly url: string;
  /** Why the connection last failed or ended, if it did. */
  readonly lastError: RpcError | undefined;
  /** While not connected, a final refusal (the login, or every URL by the browser), if the last attempt ended so. */
  readonly refusal: RpcError | undefined;
  readonly reconnects: number;
  start(): void;
  whenConnected(timeoutMs: number): Promise<void>;
  /** Sends a frame; throws when not connected. */
  publish(frame: { destination: string; body: string; headers: Record<string, string> }): void;
  /** Asks the broker for RECEIPT `receiptId` once it has handled every frame before (wire.ts probeFrames); throws when not connected. */
  probe(receiptId: string): void;
  /** Subscribes; throws when not connected. */
  subscribe(
    destination: string,
    onMessage: (message: IncomingMessage) => void,
    headers: Record<string, string>,
  ): unknown;
  /** Drops a live connection that misbehaves; reconnecting follows. */
  drop(reason: RpcError): void;
  /** Closes; every call returns the one promise, settled once closed. */
  close(): Promise<void>;
}
