/*
 * The server's side of presence (the protocol is in @stomp-rpc/client/protocol presence.ts): "hello"
 * once consuming, "beat" every `presenceMs` with the counters while consuming, "bye" as soon as a stop begins, and
 * an answer to every "who is there?" ping on the asker's reply queue: one per asker every
 * ASKER_INTERVAL_MS (a client probes once a second at most; far more is a flood) and
 * PONGS_PER_SECOND a second in all, so that a ping flood cannot multiply itself. Pings beyond that (a storm of
 * reconnecting browsers) are answered together: one "hello" on the presence topic, at most one per
 * STORM_HELLO_MS, which every client still in its discovery window hears. The limit is high
 * because a client that does not watch hears no hello: a thousand of them whose calls wait behind
 * a backlog all ping each second, and one left unanswered would take the silence for no server
 * (NO_SERVERS instead of TIMEOUT).
 */
import { hostname } from 'node:os';
import {
  type AnnouncementKind,
  ASKER_INTERVAL_MS,
  Header,
  MAX_ANNOUNCEMENT_CHARS,
  MAX_PROCEDURES,
  PRESENCE_TOPIC,
  replyDestination,
  type ServerAnnouncement,
  type ServerStats,
} from '@stomp-rpc/client/protocol';
import { SERVER_VERSION } from './version.js';

/** At most this many pings are answered per wall-clock second. */
export const PONGS_PER_SECOND = 1000;
/** Pings over the limit wait at most this long for the one hello that answers them all. */
export const STORM_HELLO_MS = 100;
const HOST = hostname();

export interface AnnouncerOptions {
  id: string;
  queue: string;
  prefetch: number;
  /** 0: presence off, nothing is ever sent. */
  presenceMs: number;
}

export interface AnnouncerEvents {
  /** Sends a frame; throws when disconnected. */
  publish(frame: { destination: string; body: string; headers: Record<string, string> }): void;
  connected(): boolean;
  /**
   * Whether the server consumes its queue on the current connection. Beats wait for it: one whose
   * subscription the broker has not confirmed (or refuses, on every reconnect) is not there to call.
   */
  consuming(): boolean;
  /** The counters to announce and the requests in hand. */
  status(): { stats: ServerStats; inFlight: number };
}

export class PresenceAnnouncer {
  readonly #options: AnnouncerOptions;
  readonly #events: AnnouncerEvents;
  readonly #startedAt = new Date().toISOString();
  #beat: ReturnType<typeof setInterval> | undefined;
  #pongWindow = { second: 0, answered: 0 };
  /** When each asker was last answered, oldest first; only those within ASKER_INTERVAL_MS are kept. */
  readonly #lastPong = new Map<string, number>();
  #stormHello: ReturnType<typeof setTimeout> | undefined;
  /** After the bye nothing more: a hello (a subscription confirmed late) would make the server live again. */
  #stopped = false;

  constructor(options: AnnouncerOptions, events: AnnouncerEvents) {
    this.#options = options;
    this.#events = events;
  }

  get enabled(): boolean {
    return this.#options.presenceMs > 0;
  }

  /** Starts beating, while consuming. */
  start(): void {
    if (this.enabled && this.#beat === undefined) {
      this.#beat = setInterval(() => this.#events.consuming() && this.announce('beat'), this.#options.presenceMs);
    }
  }

  /** Stops beating and says bye: callers stop counting on this server before it drains. */
  stop(): void {
    clearInterval(this.#beat);
    clearTimeout(this.#stormHello);
    this.#beat = undefined;
    this.#stormHello = undefined;
    this.announce('bye');
    this.#stopped = true;
  }

  /** Answers a ping on the asker's reply queue, within the rate limit. */
  answerPing(replyTo: string | undefined, now = Date.now()): void {
    const destination = replyDestination(replyTo);
    if (destination === undefined) return;
    const last = this.#lastPong.get(destination);
    if (last !== undefined && now - last < ASKER_INTERVAL_MS && now >= last) return; // a flood from one asker
    const second = Math.floor(now / 1000);
    if (this.#pongWindow.second !== second) this.#pongWindow = { second, answered: 0 };
    if (this.#pongWindow.answered < PONGS_PER_SECOND) {
      this.#pongWindow.answered++;
      this.#rememberAsker(destination, now);
      this.announce('pong', destination);
    } else if (this.#stormHello === undefined && this.#beat !== undefined) {
      this.#stormHello = setTimeout(() => {
        this.#stormHello = undefined;
        this.announce('hello');
      }, STORM_HELLO_MS);
      this.#stormHello.unref?.();
    }
  }

  #rememberAsker(destination: string, now: number): void {
    this.#lastPong.delete(destination); // to the end: the map stays oldest first
    this.#lastPong.set(destination, now);
    for (const [asker, at] of this.#lastPong) {
      if (now - at < ASKER_INTERVAL_MS && now >= at) break;
      this.#lastPong.delete(asker);
    }
  }

  /** Publishes an announcement on the presence topic (or to one asker); skipped while disconnected. */
  announce(kind: AnnouncementKind, destination = PRESENCE_TOPIC): void {
    if (!this.enabled || this.#stopped || !this.#events.connected()) return;
    const headers: Record<string, string> = { [Header.contentType]: 'application/json' };
    if (kind === 'pong') headers[Header.presence] = kind;
    try {
      this.#events.publish({ destination, body: announcementBody(this.#announcement(kind)), headers });
    } catch {
      // disconnected meanwhile; the next connection says hello again
    }
  }

  #announcement(kind: AnnouncementKind): ServerAnnouncement {
    const { id, queue, prefetch, presenceMs } = this.#options;
    const { stats, inFlight } = this.#events.status();
    return {
      kind,
      id,
      host: HOST,
      pid: process.pid,
      version: SERVER_VERSION,
      queue,
      prefetch,
      inFlight,
      beatMs: presenceMs,
      startedAt: this.#startedAt,
      // The last error's message may hold a caller's input or what a handler let slip: every client
      // that may ping would read it. Its code and time go; the message stays in stats and the log.
      stats: stats.lastError ? { ...stats, lastError: { ...stats.lastError, message: '' } } : stats,
    };
  }
}

/**
 * The announcement as clients read it: a client ignores one over MAX_ANNOUNCEMENT_CHARS as a whole
 * and reads MAX_PROCEDURES procedures at most, so a service with many procedures sends its busiest
 * ones, and none when even that is too long; it never makes the server invisible.
 */
export function announcementBody(announcement: ServerAnnouncement): string {
  const { procedures, ...overall } = announcement.stats;
  if (procedures === undefined) return JSON.stringify(announcement);
  const busiest = Object.entries(procedures)
    .sort(([, a], [, b]) => b.requests - a.requests)
    .slice(0, MAX_PROCEDURES);
  const body = JSON.stringify({ ...announcement, stats: { ...overall, procedures: Object.fromEntries(busiest) } });
  return body.length <= MAX_ANNOUNCEMENT_CHARS ? body : JSON.stringify({ ...announcement, stats: overall });
}
