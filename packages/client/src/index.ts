export { ENVIRONMENT, optionsFromEnvironment } from './env.js';
export { isRpcError, RpcError, type RpcErrorOptions } from './errors.js';
export { type FibonacciCallOptions, type FibonacciClientOptions, FibonacciRpcClient } from './fibonacci-client.js';
export {
  DEFAULT_QUEUE,
  DEFAULT_STOMP_URL,
  ERROR_CODES,
  type ErrorCode,
  Header,
  isErrorCode,
  type QueueDeclaration,
  queueDeclarationHeaders,
  queueDestination,
  replyDestination,
  TEXT_CONTENT_TYPE,
} from './protocol.js';
export {
  type RequestOptions,
  RpcClient,
  type RpcClientOptions,
  type RpcClientStats,
  type RpcReply,
} from './rpc-client.js';
export {
  type ConnectionState,
  StompConnection,
  type StompConnectionEvents,
  type StompConnectionOptions,
  type WebSocketFactory,
} from './stomp-connection.js';
