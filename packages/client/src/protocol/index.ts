/*
 * `@stomp-rpc/client/protocol`: the wire protocol, for every party that speaks it (our server,
 * tools, tests). docs/protocol.md describes it; these are its names and rules in code.
 */
export { ERROR_CODES, type ErrorCode, isErrorCode, isServerCode } from './error-codes.js';
export { checkDecimalN, decodeN, decodeValue, encodeN } from './fibonacci.js';
export {
  type AnnouncementKind,
  ASKER_INTERVAL_MS,
  isName,
  MAX_ANNOUNCEMENT_CHARS,
  MAX_PROCEDURES,
  MISSED_BEATS,
  PING_TOPIC,
  PRESENCE_TOPIC,
  type ProcedureStats,
  parseAnnouncement,
  type ServerAnnouncement,
  type ServerInfo,
  type ServerStats,
} from './presence.js';
export { QUEUE_PROFILES, type QueueProfile, resolveQueueDeclaration } from './queue-profile.js';
export {
  CANCEL_TOPIC,
  DEFAULT_QUEUE,
  DEFAULT_STOMP_URL,
  Header,
  parseServedBy,
  type QueueDeclaration,
  queueDeclarationHeaders,
  queueDestination,
  queueOfDestination,
  REPLY_TO,
  replyDestination,
  StreamMark,
  servedBy,
  signalDestinations,
} from './wire.js';
