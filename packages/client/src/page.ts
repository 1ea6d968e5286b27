/*
 * The client API a page gets from the script-tag build (`dist/browser/stomp-rpc.iife.js`, the
 * global `StompRpc`): everything `@stomp-rpc/client` exports except the helpers that read Node's
 * environment variables, which a page has none of. index.ts adds those for Node and bundlers.
 */
export { STREAM_DEFAULTS, type StreamLimits } from './core/reply-stream.js';
export {
  type RequestOptions,
  RpcClient,
  type RpcClientOptions,
  type RpcClientStats,
  type RpcReply,
  type StreamOptions,
} from './core/rpc-client.js';
export type { ConnectionState } from './core/transport.js';
export { CLIENT_DEFAULTS } from './defaults.js';
export { isRpcError, RpcError, type RpcErrorOptions } from './errors.js';
export type { LatencySnapshot } from './latency-histogram.js';
export { ERROR_CODES, type ErrorCode, isErrorCode } from './protocol/error-codes.js';
export type { ProcedureStats, ServerInfo, ServerStats } from './protocol/presence.js';
export { QUEUE_PROFILES, type QueueProfile } from './protocol/queue-profile.js';
export { DEFAULT_QUEUE, DEFAULT_STOMP_URL, type QueueDeclaration } from './protocol/wire.js';
export {
  type FibonacciCallOptions,
  type FibonacciClientOptions,
  type FibonacciResult,
  FibonacciRpcClient,
  type FibonacciSequenceOptions,
} from './services/fibonacci-client.js';
export {
  checkRange,
  type FibonacciItem,
  type FibonacciRange,
  type FibonacciService,
  fibonacciService,
  MAX_SEQUENCE_LENGTH,
  MAX_SEQUENCE_N,
  MAX_SEQUENCE_PAUSE_MS,
  MAX_SEQUENCE_PAUSES_MS,
} from './services/fibonacci-definition.js';
export {
  type ProcedureArgs,
  type ProcedureCallOptions,
  type ProcedureMethods,
  type ProcedureStreamOptions,
  ServiceClient,
  type ServiceClientOptions,
} from './services/service-client.js';
export {
  type AnyProcedure,
  type CheckedOf,
  type Codec,
  defineService,
  type InputOf,
  json,
  type KindOf,
  type OutputOf,
  type Procedure,
  type ProcedureNames,
  type ProceduresOf,
  type ProceduresOfKind,
  type ProducedOf,
  procedure,
  type ServiceDefinition,
  type StandardSchemaV1,
  streamProcedure,
  type Validator,
} from './services/service-definition.js';
export { isTraceparent, newTraceparent } from './trace-context.js';
export type { Credentials, CredentialsSource } from './transport/credentials.js';
export type {
  NodeWebSocketOptions,
  StompConnectionOptions,
  StompSocket,
  WebSocketFactory,
} from './transport/stomp-connection.js';
