// Node has no global WebSocket before v22; `ws` is the standard one. Compression is off because
// permessage-deflate costs about 3x in throughput against RabbitMQ's Web-STOMP.
import WebSocket from 'ws';
import type { WebSocketFactory } from './stomp-connection.js';

export function defaultWebSocketFactory(): WebSocketFactory {
  return (url, protocols) => new WebSocket(url, protocols, { perMessageDeflate: false });
}
