/*
 * A WebSocket a unit test drives, for the STOMP session and connection tests: what is written to
 * it is kept, and the test plays the broker (open, frames, close).
 */
import type { StompSocket } from '../src/transport/stomp-session.js';

/** A WebSocket the test drives: what the session writes is kept, what the broker says is pushed in. */
export class FakeSocket implements StompSocket {
  readyState = 0;
  binaryType = 'blob';
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;
  readonly sent: string[] = [];
  closeCalls = 0;
  /** Counted by a test's own `terminate`. */
  terminations = 0;
  /** Set by a test for a socket that can be dropped at once, as `ws`'s can. */
  terminate?: () => void;

  send(data: string | ArrayBuffer): void {
    this.sent.push(typeof data === 'string' ? data : new TextDecoder().decode(data));
  }

  close(): void {
    this.closeCalls++;
    this.readyState = 2;
  }

  open(): void {
    this.readyState = 1;
    (this.onopen as ((event: unknown) => void) | null)?.({});
  }

  /** The broker sends `frame` (a whole frame without its NUL, or '\n' for a heart-beat). */
  receive(frame: string): void {
    const data = frame === '\n' ? frame : `${frame}\0`;
    (this.onmessage as ((event: { data: unknown }) => void) | null)?.({ data: new TextEncoder().encode(data).buffer });
  }

  closedByPeer(code = 1000, reason = ''): void {
    this.readyState = 3;
    (this.onclose as ((event: unknown) => void) | null)?.({ code, reason });
  }
}
