export { ENVIRONMENT, type EnvironmentOptions, optionsFromEnvironment } from './env.js';
export { isRpcError, RpcError, type RpcErrorOptions } from './errors.js';
export {
  type FibonacciCallOptions,
  type FibonacciClientOptions,
  type FibonacciResult,
  FibonacciRpcClient,
} from './fibonacci-client.js';
export { LATENCY_BOUNDS_MS, LatencyHistogram, type LatencySnapshot } from './latency-histogram.js';
export {
  type AnnouncementKind,
  MISSED_BEATS,
  PING_TOPIC,
  PRESENCE_TOPIC,
  parseAnnouncement,
  type ServerAnnouncement,
  type ServerInfo,
  type ServerStats,
} from './presence.js';
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
  queueOfDestination,
  replyDestination,
  TEXT_CONTENT_TYPE,
} from './protocol.js';
export { QUEUE_PROFILES, type QueueProfile, resolveQueueDeclaration } from './queue-profile.js';
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
export { isTraceparent, newTraceparent } from './trace-context.js';
