/*
 * Who is serving: the presence messages servers and clients exchange over two STOMP topics
 * (docs/protocol.md, "Presence"). A client trusts only its own clock about when it last heard a
 * server, never the server's.
 */
import { LATENCY_BOUNDS_MS, type LatencySnapshot } from '../latency-histogram.js';
import { type ErrorCode, isErrorCode } from './error-codes.js';

export const PRESENCE_TOPIC = '/topic/rpc.presence';
export const PING_TOPIC = '/topic/rpc.ping';

/** A server is gone when it missed this many beats in a row. */
export const MISSED_BEATS = 3;

/**
 * A server answers one asker again only after this long: a flood from one client gets 20 answers a
 * second, while one that calls discoverServers() again soon (or whose pings the broker delivers
 * close together) still gets a fresh answer. So a client's answer may be one it got this long
 * before its ping.
 */
export const ASKER_INTERVAL_MS = 50;

export type AnnouncementKind = 'hello' | 'beat' | 'bye' | 'pong';
const KINDS: ReadonlySet<string> = new Set<AnnouncementKind>(['hello', 'beat', 'bye', 'pong']);

/** A server's counters, in the style of NATS service stats. */
export interface ServerStats {
  /** Requests taken from the queue, those in hand too; not those given back to it unanswered (a stop, a lost connection). */
  requests: number;
  /** Success replies sent. */
  succeeded: number;
  /** Error replies sent, by code. */
  errors: Partial<Record<ErrorCode, number>>;
  /** Requests ACKed without a reply (no or refused reply-to, no correlation-id). */
  dropped: number;
  /** Time spent on answered requests, from delivery to reply. */
  processingMs: { total: number; average: number };
  latency: LatencySnapshot;
  /** The last error reply: announced with its code and time only (`message` empty: it may hold a caller's input). */
  lastError?: { code: ErrorCode; message: string; at: string };
  /** Requests the caller cancelled, stopped without a reply (servers before services: absent). */
  cancelled?: number;
  /** By procedure, for a service (services/service-definition.ts). */
  procedures?: Record<string, ProcedureStats>;
}

/** One procedure's counters. */
export interface ProcedureStats {
  /** Requests answered (success or error). */
  requests: number;
  succeeded: number;
  errors: Partial<Record<ErrorCode, number>>;
  /** Requests the caller cancelled. */
  cancelled: number;
  /** Time spent on answered requests, from delivery to reply. */
  processingMs: number;
}

/** At most this many procedures of an announcement are read; a server sends its busiest ones. */
export const MAX_PROCEDURES = 64;
/** A longer announcement is ignored as a whole; a server keeps within it. */
export const MAX_ANNOUNCEMENT_CHARS = 16_384;

/** What a server says about itself on the presence topic. */
export interface ServerAnnouncement {
  kind: AnnouncementKind;
  id: string;
  host: string;
  pid: number;
  version: string;
  /** The queue it consumes. */
  queue: string;
  /** Requests it takes at once (its prefetch). */
  prefetch: number;
  inFlight: number;
  /** How often it beats; it counts as gone after MISSED_BEATS beats without news. */
  beatMs: number;
  /** When it started, by its own clock (ISO 8601). */
  startedAt: string;
  stats: ServerStats;
}

/** A live server as a client sees it. */
export interface ServerInfo extends Omit<ServerAnnouncement, 'kind'> {
  /**
   * When this client last heard from it (an announcement or a reply), by the client's clock
   * (Date.now()); a reconnect sets it to then too, since silence while not connected says nothing.
   */
  lastSeen: number;
  /**
   * When this client heard its latest announcement, the one `stats` and `inFlight` come from, by the
   * client's clock: a rate is the change in `stats` over the change in this, not in `lastSeen`.
   */
  announcedAt: number;
}

/** The longest beat a server may have (its `presenceMs` at most), so that a silent one is forgotten. */
export const MAX_BEAT_MS = 3_600_000;

/**
 * Reads an announcement, or undefined when the body is not one. Anyone who may publish to the topic
 * may send junk: every field is checked, and what a client shows (names, counts) is plain text and
 * finite numbers, whatever was sent.
 */
export function parseAnnouncement(body: string): ServerAnnouncement | undefined {
  if (body.length > MAX_ANNOUNCEMENT_CHARS) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const a = value as Record<string, unknown>;
  if (!KINDS.has(a.kind as string) || !isName(a.id) || !isName(a.queue)) return undefined;
  if (!isCount(a.beatMs) || a.beatMs < 10 || a.beatMs > MAX_BEAT_MS) return undefined;
  const stats = (typeof a.stats === 'object' && a.stats !== null ? a.stats : {}) as Record<string, unknown>;
  const processingMs = (stats.processingMs ?? {}) as Record<string, unknown>;
  const lastError = readLastError(stats.lastError);
  return {
    kind: a.kind as AnnouncementKind,
    id: a.id,
    host: isName(a.host) ? a.host : '?',
    pid: count(a.pid),
    version: isName(a.version) ? a.version : '?',
    queue: a.queue,
    prefetch: count(a.prefetch),
    inFlight: count(a.inFlight),
    beatMs: a.beatMs,
    startedAt: isName(a.startedAt) ? a.startedAt.slice(0, 40) : '',
    stats: {
      requests: count(stats.requests),
      succeeded: count(stats.succeeded),
      errors: readErrors(stats.errors),
      dropped: count(stats.dropped),
      processingMs: { total: count(processingMs.total), average: count(processingMs.average) },
      latency: readLatency(stats.latency),
      ...(lastError ? { lastError } : {}),
      ...(isCount(stats.cancelled) ? { cancelled: stats.cancelled } : {}),
      ...readProcedures(stats.procedures),
    },
  };
}

/**
 * A name clients take from an announcement (an id, a queue, a host), as text to show: 1 to 256
 * characters, none of them a control character (no line breaks, no terminal escapes).
 */
export function isName(field: unknown): field is string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  return typeof field === 'string' && /^[^\u0000-\u001f\u007f-\u009f]{1,256}$/.test(field);
}

function isCount(field: unknown): field is number {
  return typeof field === 'number' && Number.isFinite(field) && field >= 0;
}

const count = (field: unknown): number => (isCount(field) ? field : 0);

/** A code this client does not know, shaped as one (a newer server's), read as INTERNAL as in a reply. */
function codeAsRead(code: unknown): ErrorCode | undefined {
  if (isErrorCode(code)) return code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,39}$/.test(code) ? 'INTERNAL' : undefined;
}

/** Counts by error code, each a count; a newer server's codes are added to INTERNAL, not lost. */
function readErrors(value: unknown): Partial<Record<ErrorCode, number>> {
  const errors: Partial<Record<ErrorCode, number>> = {};
  if (typeof value !== 'object' || value === null) return errors;
  for (const [code, n] of Object.entries(value)) {
    const read = codeAsRead(code);
    // Capped: two huge counts summed would be Infinity, which no count may be.
    if (read && isCount(n)) errors[read] = Math.min((errors[read] ?? 0) + n, Number.MAX_VALUE);
  }
  return errors;
}

function readLastError(value: unknown): ServerStats['lastError'] {
  if (typeof value !== 'object' || value === null) return undefined;
  const { code, message, at } = value as Record<string, unknown>;
  const read = codeAsRead(code);
  if (!read || typeof message !== 'string' || !isName(at)) return undefined;
  // As a reply with an unknown code reads: INTERNAL, the code named in the message.
  const shown = read === code ? message : `${code}${message ? `: ${message}` : ''}`;
  return { code: read, message: shown.slice(0, 500), at: at.slice(0, 40) };
}

/** A latency histogram on the client's own bounds, or an empty one when it is not that. */
function readLatency(value: unknown): LatencySnapshot {
  if (typeof value !== 'object' || value === null) return emptyLatency();
  const { counts, count: total, sumMs, maxMs, p50Ms, p90Ms, p99Ms } = value as Record<string, unknown>;
  const fits = Array.isArray(counts) && counts.length === LATENCY_BOUNDS_MS.length + 1 && counts.every(isCount);
  if (!fits || !isCount(total) || !isCount(sumMs) || !isCount(maxMs)) return emptyLatency();
  if (!isCount(p50Ms) || !isCount(p90Ms) || !isCount(p99Ms)) return emptyLatency();
  return { boundsMs: LATENCY_BOUNDS_MS, counts, count: total, sumMs, maxMs, p50Ms, p90Ms, p99Ms };
}

/** The per-procedure counters of an announcement, when it has well-formed ones. */
function readProcedures(value: unknown): { procedures?: Record<string, ProcedureStats> } {
  if (typeof value !== 'object' || value === null) return {};
  // No prototype: a procedure named `__proto__` or `constructor` is a name like any other.
  const procedures: Record<string, ProcedureStats> = Object.create(null);
  for (const [name, raw] of Object.entries(value).slice(0, MAX_PROCEDURES)) {
    if (name.length > 64 || !isName(name) || typeof raw !== 'object' || raw === null) continue;
    const p = raw as Record<string, unknown>;
    procedures[name] = {
      requests: count(p.requests),
      succeeded: count(p.succeeded),
      errors: readErrors(p.errors),
      cancelled: count(p.cancelled),
      processingMs: count(p.processingMs),
    };
  }
  return { procedures };
}

function emptyLatency(): LatencySnapshot {
  const counts = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  return { boundsMs: LATENCY_BOUNDS_MS, counts, count: 0, sumMs: 0, maxMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0 };
}
