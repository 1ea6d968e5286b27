/*
 * Just enough STOMP 1.2 over `ws` for the ceiling scenarios: no library between the socket and
 * the broker, so what they reach is what the broker and this machine can do.
 *
 * A frame is COMMAND, header lines, a blank line, the body and a NUL. RabbitMQ's Web-STOMP sends
 * each frame in its own WebSocket message (and bare end-of-lines as heart-beats, which are
 * skipped); the reader still splits on NUL so several frames in one message would work. Bodies here
 * never hold a NUL, and header values are plain, so no escaping is needed.
 */
import WebSocket from 'ws';
import { withTimeout } from './lib.mjs';

export function encodeFrame(command, headers, body = '') {
  let text = `${command}\n`;
  for (const name in headers) text += `${name}:${headers[name]}\n`;
  return `${text}\n${body}\0`;
}

function decodeFrame(text) {
  let start = 0;
  while (text[start] === '\n' || text[start] === '\r') start++;
  if (start >= text.length) return undefined; // heart-beat
  const headerEnd = text.indexOf('\n\n', start);
  const head = text.slice(start, headerEnd).split('\n');
  const headers = {};
  for (let i = 1; i < head.length; i++) {
    const line = head[i];
    const colon = line.indexOf(':');
    if (!(line.slice(0, colon) in headers)) headers[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return { command: head[0], headers, body: text.slice(headerEnd + 2) };
}

/**
 * Opens a STOMP session; `onFrame` gets every frame after CONNECTED. No heart-beats either way
 * (the runs are short and never idle).
 */
export async function connectRawStomp(url, { login = 'guest', passcode = 'guest', onFrame }) {
  const socket = new WebSocket(url, ['v12.stomp'], { perMessageDeflate: false });
  let rest = '';
  let connected;
  const ready = new Promise((resolve, reject) => {
    connected = resolve;
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('socket closed before CONNECTED')));
  });
  socket.on('message', (data) => {
    rest += data.toString();
    let end = rest.indexOf('\0');
    while (end >= 0) {
      const frame = decodeFrame(rest.slice(0, end));
      rest = rest.slice(end + 1);
      if (frame?.command === 'CONNECTED') connected(frame.headers);
      else if (frame?.command === 'ERROR') process.stderr.write(`raw STOMP ERROR: ${frame.headers.message}\n`);
      else if (frame) onFrame(frame);
      end = rest.indexOf('\0');
    }
  });
  await withTimeout(new Promise((resolve) => socket.once('open', resolve)), 5000, 'WebSocket open');
  socket.send(encodeFrame('CONNECT', { 'accept-version': '1.2', host: '/', login, passcode, 'heart-beat': '0,0' }));
  const connectedHeaders = await withTimeout(ready, 5000, 'STOMP CONNECTED');
  return {
    /** The broker's name and version, from CONNECTED (e.g. RabbitMQ/3.10.8). */
    server: connectedHeaders.server,
    send: (command, headers, body) => socket.send(encodeFrame(command, headers, body)),
    close: () =>
      new Promise((resolve) => {
        socket.once('close', resolve);
        socket.close();
        setTimeout(() => {
          socket.terminate();
          resolve();
        }, 1000).unref();
      }),
  };
}

/** A queue that goes away with its last consumer; every SEND and SUBSCRIBE must declare it alike. */
export const SCRATCH_QUEUE_HEADERS = { durable: 'false', 'auto-delete': 'true', exclusive: 'false' };
