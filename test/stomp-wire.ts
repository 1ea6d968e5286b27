// A STOMP 1.2 connection driven by hand over a raw WebSocket, for the frames a well-behaved client
// never sends: duplicate headers, binary bodies, oversized frames, forbidden destinations.
import { onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { BROKER_URL } from './support.js';

export interface Frame {
  command: string;
  /** Every header line in order (repeats kept). */
  headerLines: [string, string][];
  /** The first value of each header, as STOMP 1.2 says a receiver reads it. */
  headers: Record<string, string>;
  body: Buffer;
}

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
   * broker answers with an ERROR or closes the connection instead.
   */
  attempt(command: string, headers: Record<string, string>, body?: string): Promise<'accepted' | 'refused'>;
  readonly frames: Frame[];
  /** Resolves with the close code once the socket is closed. */
  readonly closed: Promise<number>;
}

let receipts = 0;

function parseFrames(data: Buffer): Frame[] {
  const frames: Frame[] = [];
  let offset = 0;
  while (offset < data.length) {
    while (offset < data.length && (data[offset] === 0x0a || data[offset] === 0x0d)) offset++; // heart-beats
    if (offset >= data.length) break;
    const headerEnd = data.indexOf('\n\n', offset);
    if (headerEnd < 0) throw new Error(`incomplete frame: ${data.subarray(offset, offset + 80).toString()}`);
    const [command = '', ...lines] = data.subarray(offset, headerEnd).toString('utf8').split('\n');
    const headerLines = lines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon), line.slice(colon + 1)] as [string, string];
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of headerLines) headers[name] ??= value;
    const bodyStart = headerEnd + 2;
    const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
    const bodyEnd = length === undefined ? data.indexOf(0, bodyStart) : bodyStart + length;
    frames.push({ command, headerLines, headers, body: data.subarray(bodyStart, bodyEnd) });
    offset = bodyEnd + 1;
  }
  return frames;
}

/** Connects and logs in; closed when the test ends. Rejects when the login is refused. */
export async function openWire(login = 'guest', passcode = 'guest', url = BROKER_URL): Promise<WireConnection> {
  const socket = new WebSocket(url, ['v12.stomp'], { perMessageDeflate: false });
  onTestFinished(() => socket.terminate());
  const frames: Frame[] = [];
  const listeners = new Set<() => void>();
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  socket.on('error', () => {}); // seen as a close
  socket.on('message', (data: Buffer) => {
    frames.push(...parseFrames(data));
    for (const listener of listeners) listener();
  });
  let isClosed = false;
  void closed.then(() => {
    isClosed = true;
    for (const listener of listeners) listener();
  });

  const send: WireConnection['send'] = (command, headers, body = '') => {
    const pairs = Array.isArray(headers) ? [...headers] : Object.entries(headers);
    // A body with NUL bytes needs its length stated; binary bodies always get one.
    if (typeof body !== 'string') pairs.push(['content-length', String(body.length)]);
    const head = `${command}\n${pairs.map(([name, value]) => `${name}:${value}`).join('\n')}\n\n`;
    const payload = typeof body === 'string' ? Buffer.from(body) : body;
    socket.send(Buffer.concat([Buffer.from(head), payload, Buffer.from([0])]));
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
    ).catch(() => undefined); // closed: a fatal refusal
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
