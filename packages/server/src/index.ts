// What a handler throws: the client package's error class, re-exported so that a handler author
// needs no import from a package they may not depend on directly.
export { ERROR_CODES, type ErrorCode, isRpcError, RpcError } from '@stomp-rpc/client';
export { SERVER_DEFAULTS } from './defaults.js';
export { fibonacci } from './fibonacci.js';
export {
  type FibonacciServiceOptions,
  fibonacciHandler,
  fibonacciImplementation,
  MAX_N_LIMIT,
  parseN,
} from './fibonacci-service.js';
export { createLogger, LOG_LEVELS, type Logger, type LogLevel, silentLogger } from './logger.js';
export { ServerMetrics, type ServerMetricsOptions } from './metrics.js';
export {
  type HandlerReply,
  type RpcHandler,
  type RpcRequest,
  RpcServer,
  type RpcServerObserver,
  type RpcServerOptions,
  type RpcServerStats,
} from './rpc-server.js';
export {
  type ServiceImplementation,
  type ServiceServerOptions,
  serveService,
  serviceHandler,
} from './service-server.js';
export { SERVER_VERSION } from './version.js';
export { WorkerPool, type WorkerPoolOptions } from './worker-pool.js';
