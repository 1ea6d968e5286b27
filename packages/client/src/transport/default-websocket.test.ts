import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { defaultWebSocketFactory as browserFactory } from './default-websocket.browser.js';
import { defaultWebSocketFactory as nodeFactory } from './default-websocket.node.js';

/** A local WebSocket server that records each handshake's request. */
async function handshakeRecorder() {
  const requests: IncomingMessage[] = [];
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true });
  server.on('connection', (_socket, request) => requests.push(request));
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

describe('the default WebSocket factory', () => {
  it('node - adds webSocketOptions (headers here) to its own, and keeps compression off', async () => {
    const { url, requests } = await handshakeRecorder();
    const socket = nodeFactory({ headers: { 'x-tenant': 'shop-7' } })(url, ['v12.stomp']) as unknown as {
      close(): void;
      once(event: 'open', listener: () => void): void;
    };
    await new Promise<void>((resolve) => socket.once('open', resolve));
    socket.close();
    expect(requests[0]?.headers['x-tenant']).toBe('shop-7');
    expect(requests[0]?.headers['sec-websocket-protocol']).toBe('v12.stomp');
    // The server offers deflate; the client asked for none.
    expect(requests[0]?.headers['sec-websocket-extensions']).toBeUndefined();
  });

  it('node - a text frame reaches onmessage as its bytes, not decoded: a body that is not UTF-8 keeps its length', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    // What Web-STOMP's default text frames carry for a body published as bytes that are not UTF-8.
    const frame = Buffer.concat([
      Buffer.from('MESSAGE\ncontent-length:4\n\n'),
      Buffer.from([0xc3, 0x28, 0xa0, 0xa1]),
      Buffer.from('\0'),
    ]);
    server.on('connection', (peer) => peer.send(frame, { binary: false }));
    const socket = nodeFactory()(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, []) as unknown as {
      binaryType: string;
      onmessage: ((event: { data: unknown }) => void) | null;
      close(): void;
    };
    socket.binaryType = 'arraybuffer'; // as the session sets it
    const data = await new Promise<unknown>((resolve) => {
      socket.onmessage = (event) => resolve(event.data);
    });
    socket.close();
    expect(data).toBeInstanceOf(ArrayBuffer);
    expect(Buffer.from(data as ArrayBuffer)).toEqual(frame);
  });

  it('browser - a page takes no webSocketOptions: INVALID_ARGUMENT, rather than options silently unused', () => {
    vi.stubGlobal('WebSocket', class {}); // as a page has (Node 20 has none)
    onTestFinished(() => {
      vi.unstubAllGlobals();
    });
    expect(() => browserFactory({ ca: 'PEM' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => browserFactory({})).not.toThrow();
    expect(() => browserFactory()).not.toThrow();
  });
});
