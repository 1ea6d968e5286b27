// Node has no global WebSocket before v22; `ws` is the standard one. Compression is off because
// permessage-deflate costs about 3x in throughput against RabbitMQ's Web-STOMP. UTF-8 validation
// is off because Web-STOMP's default text frames carry message bodies as they are: one request
// with invalid UTF-8 in its body would make `ws` close the connection of every server it is
// delivered to, and again on each redelivery (rabbitmq-conf sends binary frames for the same
// reason; this keeps a server safe on a broker configured otherwise). For the same reason a text
// frame reaches `onmessage` as its bytes, never decoded: decoding would turn each invalid byte
// into a 3-byte U+FFFD, the body would no longer match its `content-length`, and the parser would
// lose the frames after it.
//
// Frames sent in one turn of the event loop leave in one write: `ws` writes every frame to the
// TCP socket at once, a system call each, so the socket is corked from the first send of a turn
// until the turn's callbacks have run (process.nextTick runs after them). A batch of requests or
// replies then costs one writev here and one read on the broker. `_socket` is `ws`'s own field;
// without it frames go out one by one as before.
import WebSocket from 'ws';
import type { NodeWebSocketOptions, WebSocketFactory } from './stomp-connection.js';

interface Corkable {
  cork(): void;
  uncork(): void;
}

/** `ws`, with `options` (a CA, headers) added to ours, which stay as they are. */
export function defaultWebSocketFactory(options: NodeWebSocketOptions = {}): WebSocketFactory {
  const settings = { ...(options as WebSocket.ClientOptions), perMessageDeflate: false, skipUTF8Validation: true };
  return (url, protocols) => {
    const socket = new WebSocket(url, protocols, settings);
    deliverBytes(socket);
    const send = socket.send.bind(socket);
    let corked: Corkable | undefined;
    const uncork = () => {
      corked?.uncork();
      corked = undefined;
    };
    socket.send = ((...args: Parameters<WebSocket['send']>) => {
      const tcp = (socket as unknown as { _socket?: Corkable })._socket;
      if (corked === undefined && tcp !== undefined) {
        tcp.cork();
        corked = tcp;
        process.nextTick(uncork);
      }
      send(...args);
    }) as WebSocket['send'];
    return socket;
  };
}

/**
 * `onmessage` gets every message's bytes: a binary one as `ws` hands it over, in the socket's
 * `binaryType` (the session asks for ArrayBuffers), a text one, which `ws` gives as a Buffer and its
 * own `onmessage` would decode to a string, as an ArrayBuffer of its bytes.
 */
function deliverBytes(socket: WebSocket): void {
  let handler: ((event: { data: unknown }) => void) | null = null;
  Object.defineProperty(socket, 'onmessage', {
    configurable: true,
    get: () => handler,
    set: (value: typeof handler) => {
      handler = value;
    },
  });
  socket.on('message', (data, isBinary) => {
    if (isBinary || !Buffer.isBuffer(data)) handler?.({ data });
    else handler?.({ data: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) });
  });
}
