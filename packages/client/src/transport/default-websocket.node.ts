// Node has no global WebSocket before v22; `ws` is the standard one. Compression is off because
// permessage-deflate costs about 3x in throughput against RabbitMQ's Web-STOMP. UTF-8 validation
// is off because Web-STOMP's default text frames carry message bodies as they are: one request
// with invalid UTF-8 in its body would make `ws` close the connection of every server it is
// delivered to, and again on each redelivery (rabbitmq-conf sends binary frames for the same
// reason; this keeps a server safe on a broker configured otherwise).
import WebSocket from 'ws';
import type { WebSocketFactory } from './stomp-connection.js';

export function defaultWebSocketFactory(): WebSocketFactory {
  return (url, protocols) => new WebSocket(url, protocols, { perMessageDeflate: false, skipUTF8Validation: true });
}
