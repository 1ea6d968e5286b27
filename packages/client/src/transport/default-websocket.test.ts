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
