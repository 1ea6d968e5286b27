import { RpcError } from '../errors.js';
import type { NodeWebSocketOptions, WebSocketFactory } from './stomp-connection.js';

export function defaultWebSocketFactory(options?: NodeWebSocketOptions): WebSocketFactory {
  // A page's WebSocket takes no options: its browser decides which certificates to trust.
  if (options && Object.keys(options).length > 0)
    throw new RpcError('INVALID_ARGUMENT', 'webSocketOptions are for Node');
  const NativeWebSocket = globalThis.WebSocket;
  if (typeof NativeWebSocket !== 'function') {
    throw new RpcError(
      'INVALID_ARGUMENT',
      'no WebSocket implementation: this runtime has no global WebSocket, so pass `webSocketFactory`',
    );
  }
  return (url, protocols) => new NativeWebSocket(url, protocols);
}
