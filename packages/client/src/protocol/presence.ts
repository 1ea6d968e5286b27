/*
 * Who is serving: the presence messages servers and clients exchange over two STOMP topics
 * (docs/protocol.md, "Presence"). A client trusts only its own clock about when it last heard a
 * server, never the server's.
 */
import { LATENCY_BOUNDS_MS, type LatencySnapshot } from '../latency-histogram.js';
import type { ErrorCode } from './error-codes.js';

export const PRESENCE_TOPIC = '/topic/rpc.presence';
export const PING_TOPIC = '/topic/rpc.ping';

/** A server is gone when it missed this many beats in a row. */
export const MISSED_BEATS = 3;

export type AnnouncementKind = 'hello' | 'beat' | 'bye' | 'pong';
const KINDS: ReadonlySet<string> = new Set<AnnouncementKind>(['hello', 'beat', 'bye', 'pong']);

/** A server's counters, in the style of NATS service stats. */
export interface ServerStats {
  /** Requests taken from the queue. */
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

/** At most this many procedures of an announcement are read. */
const MAX_PROCEDURES = 64;

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
  /** When this client last heard from it, by the client's clock (Date.now()). */
  lastSeen: number;
}

/** Reads an announcement, or undefined when the body is not one (anyone may publish junk). */
export function parseAnnouncement(body: string): ServerAnnouncement | undefined {
  if (body.length > 16_384) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const a = value as Record<string, unknown>;
  const isName = (field: unknown) => typeof field === 'string' && field.length > 0 && field.length <= 256;
  const isCount = (field: unknown) => typeof field === 'number' && Number.isFinite(field) && field >= 0;
  if (!KINDS.has(a.kind as string) || !isName(a.id) || !isName(a.queue)) return undefined;
  if (!isCount(a.beatMs) || (a.beatMs as number) < 10) return undefined;
  const stats = (typeof a.stats === 'object' && a.stats !== null ? a.stats : {}) as Partial<ServerStats>;
  return {
    kind: a.kind as AnnouncementKind,
    id: a.id as string,
    host: isName(a.host) ? (a.host as string) : '?',
    pid: isCount(a.pid) ? (a.pid as number) : 0,
    version: isName(a.version) ? (a.version as string) : '?',
    queue: a.queue as string,
    prefetch: isCount(a.prefetch) ? (a.prefetch as number) : 0,
    inFlight: isCount(a.inFlight) ? (a.inFlight as number) : 0,
    beatMs: a.beatMs as number,
    startedAt: typeof a.startedAt === 'string' ? a.startedAt.slice(0, 40) : '',
    stats: {
      requests: isCount(stats.requests) ? (stats.requests as number) : 0,
      succeeded: isCount(stats.succeeded) ? (stats.succeeded as number) : 0,
      errors: typeof stats.errors === 'object' && stats.errors !== null ? stats.errors : {},
      dropped: isCount(stats.dropped) ? (stats.dropped as number) : 0,
      processingMs: stats.processingMs ?? { total: 0, average: 0 },
      latency: stats.latency ?? emptyLatency(),
      ...(stats.lastError ? { lastError: stats.lastError } : {}),
      ...(isCount(stats.cancelled) ? { cancelled: stats.cancelled as number } : {}),
      ...readProcedures(stats.procedures),
    },
  };
}

/** The per-procedure counters of an announcement, when it has well-formed ones. */
function readProcedures(value: unknown): { procedures?: Record<string, ProcedureStats> } {
  if (typeof value !== 'object' || value === null) return {};
  const count = (field: unknown) => (typeof field === 'number' && Number.isFinite(field) && field >= 0 ? field : 0);
  const procedures: Record<string, ProcedureStats> = {};
  for (const [name, raw] of Object.entries(value).slice(0, MAX_PROCEDURES)) {
    if (name.length > 64 || typeof raw !== 'object' || raw === null) continue;
    const p = raw as Record<string, unknown>;
    procedures[name] = {
      requests: count(p.requests),
      succeeded: count(p.succeeded),
      errors: typeof p.errors === 'object' && p.errors !== null ? (p.errors as ProcedureStats['errors']) : {},
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
