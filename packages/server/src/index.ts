export { fibonacci } from './fibonacci.js';
export { type FibonacciServiceOptions, fibonacciHandler, parseN } from './fibonacci-service.js';
export { jsonLogger, LOG_LEVELS, type Logger, type LogLevel, silentLogger } from './logger.js';
export {
  type RpcHandler,
  type RpcRequest,
  RpcServer,
  type RpcServerOptions,
  type RpcServerStats,
} from './rpc-server.js';
export { WorkerPool, type WorkerPoolOptions } from './worker-pool.js';
