// A STOMP 1.2 connection driven by hand over a raw WebSocket, for the frames a well-behaved client
// never sends: duplicate headers, binary bodies, oversized frames, forbidden destinations.
import { onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { decodeFrames, encodeFrame, type Frame } from '../scripts/stomp-frame.mjs';
import { BROKER_URL } from './support.js';

export type { Frame } from '../scripts/stomp-frame.mjs';

export interface WireConnection {
  /** Sends one frame; headers may repeat when given as pairs. */
  send(command: string, headers: [string, string][] | Record<string, string>, body?: string | Buffer): void;
  /**
   * Resolves with the first frame from index `from` on (already received or still to come) that
   * `matches`; rejects on close or after `timeoutMs`.
   */
  next(matches: (frame: Frame) => boolean, timeoutMs?: number, from?: number): Promise<Frame>;
  /**
   * Sends a frame with a `receipt` header: 'accepted' when the RECEIPT comes, 'refused' when the
   * broker answers with an ERROR or closes the connection instead, 'silent' when none of it comes
   * within 5 s (a refusal must be seen, not assumed).
   */
  attempt(command: string, headers: Record<string, string>, body?: string): Promise<'accepted' | 'refused' | 'silent'>;
  readonly frames: Frame[];
  /** Resolves with the close code once the socket is closed. */
  readonly closed: Promise<number>;
}

let receipts = 0;

/** Connects and logs in; closed when the test ends. Rejects when the login is refused. */
export async function openWire(login = 'guest', passcode = 'guest', url = BROKER_URL): Promise<WireConnection> {
  const socket = new WebSocket(url, ['v12.stomp'], { perMessageDeflate: false });
  onTestFinished(() => socket.terminate());
  const frames: Frame[] = [];
  const listeners = new Set<() => void>();
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  socket.on('error', () => {}); // seen as a close
  socket.on('message', (data: Buffer) => {
    frames.push(...decodeFrames(data));
    for (const listener of listeners) listener();
  });
  let isClosed = false;
  void closed.then(() => {
    isClosed = true;
    for (const listener of listeners) listener();
  });

  const send: WireConnection['send'] = (command, headers, body = '') => {
    // Binary frames always: a body's bytes go out as they are.
    const frame = encodeFrame(command, headers, body);
    socket.send(typeof frame === 'string' ? Buffer.from(frame) : frame);
  };

  const next: WireConnection['next'] = (matches, timeoutMs = 5000, from = 0) =>
    new Promise<Frame>((resolve, reject) => {
      let seen = from;
      const check = () => {
        for (; seen < frames.length; seen++) {
          const frame = frames[seen] as Frame;
          if (matches(frame)) return finish(() => resolve(frame));
        }
        if (isClosed) finish(() => reject(new Error('the connection closed first')));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`no matching frame within ${timeoutMs} ms`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        settle();
      };
      listeners.add(check);
      check();
    });

  const attempt: WireConnection['attempt'] = async (command, headers, body) => {
    const receipt = `attempt-${++receipts}`;
    const from = frames.length;
    send(command, { ...headers, receipt }, body);
    const outcome = await next(
      (frame) => frame.command === 'ERROR' || (frame.command === 'RECEIPT' && frame.headers['receipt-id'] === receipt),
      5000,
      from,
    ).catch((error: Error) => (error.message.startsWith('no matching frame') ? 'silent' : undefined)); // else closed: a fatal refusal
    // Silence is neither: a broker that never answered refused nothing.
    if (outcome === 'silent') return 'silent';
    return outcome?.command === 'RECEIPT' ? 'accepted' : 'refused';
  };

  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  send('CONNECT', { 'accept-version': '1.2', host: '/', login, passcode, 'heart-beat': '0,0' });
  const answer = await next((frame) => frame.command === 'CONNECTED' || frame.command === 'ERROR');
  if (answer.command !== 'CONNECTED') throw new Error(`login refused: ${answer.headers.message}`);
  return { send, next, attempt, frames, closed };
}
