/*
 * `@stomp-rpc/client/internal`: what our server, tests and tools share with the client but a
 * page never needs: the STOMP transport, the latency histogram, option checks. Not a public API:
 * it may change in any release.
 */
export {
  CONNECTION_FLAGS,
  type ConnectionFlagValues,
  INFO_FLAGS,
  optionsFromCommandLine,
  printInfo,
  usageMessage,
} from './env.js';
export { messageOf } from './errors.js';
export { LATENCY_BOUNDS_MS, LatencyHistogram, type LatencySnapshot } from './latency-histogram.js';
export {
  checkCount,
  checkMs,
  checkName,
  MAX_NAME_BYTES,
  MAX_TIMER_MS,
  parseDurationFlag,
  parseUrlList,
  parseWholeFlag,
} from './options.js';
export { newSignalCheck, REPEATED_SIGNAL_MS } from './repeated-signal.js';
export { mapItems } from './services/map-items.js';
export { checkInput, isThenable, procedureOf } from './services/service-definition.js';
export { type Settleable, settleable } from './settleable.js';
export { isFatalStompClose } from './transport/end-reason.js';
export { frameBytes, LargestFrame } from './transport/largest-frame.js';
export {
  type ConnectionState,
  StompConnection,
  type StompConnectionEvents,
  type StompConnectionOptions,
  type StompMessage,
  type StompSocket,
  type WebSocketFactory,
} from './transport/stomp-connection.js';
export { Waiters } from './waiters.js';
