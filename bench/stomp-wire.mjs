/*
 * Just enough STOMP 1.2 over `ws` for the ceiling scenarios: no library between the socket and
 * the broker, so what they reach is what the broker and this machine can do. Frames are coded by
 * scripts/stomp-frame.mjs; bodies here are text.
 */
import WebSocket from 'ws';
import { decodeFrames, encodeFrame } from '../scripts/stomp-frame.mjs';
import { withTimeout } from './lib.mjs';

/**
 * Opens a STOMP session; `onFrame` gets every frame after CONNECTED. No heart-beats either way
 * (the runs are short and never idle).
 */
export async function connectRawStomp(url, { login = 'guest', passcode = 'guest', onFrame }) {
  const socket = new WebSocket(url, ['v12.stomp'], { perMessageDeflate: false });
  let connected;
  const ready = new Promise((resolve, reject) => {
    connected = resolve;
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('socket closed before CONNECTED')));
  });
  socket.on('message', (data) => {
    for (const { command, headers, body } of decodeFrames(data)) {
      if (command === 'CONNECTED') connected(headers);
      else if (command === 'ERROR') process.stderr.write(`raw STOMP ERROR: ${headers.message}\n`);
      else onFrame({ command, headers, body: body.toString() });
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
