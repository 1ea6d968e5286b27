import { RpcError } from '../errors.js';
import type { WebSocketFactory } from './stomp-connection.js';

export function defaultWebSocketFactory(): WebSocketFactory {
  const NativeWebSocket = globalThis.WebSocket;
  if (typeof NativeWebSocket !== 'function') {
    throw new RpcError(
      'INVALID_ARGUMENT',
      'no WebSocket implementation: this runtime has no global WebSocket, so pass `webSocketFactory`',
    );
  }
  return (url, protocols) => new NativeWebSocket(url, protocols);
}
