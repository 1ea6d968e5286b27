import { MISSED_BEATS, type ServerAnnouncement, type ServerInfo } from '../protocol/presence.js';

/**
 * The most servers a client keeps in view. Anyone who may publish to the presence topic could
 * otherwise grow a client's memory without bound with made-up ids; real deployments are far below.
 */
export const MAX_KNOWN_SERVERS = 1024;

/**
 * How long a server that said bye stays gone for its answers to pings. An answer sent just before
 * the bye goes to the client's reply queue, the bye to the presence topic: another queue, so the
 * broker may deliver the bye first, and the answer would bring the server back for three beats.
 */
export const BYE_HOLDS_MS = 5000;

/** The live servers a client knows of. Pure: time comes in as arguments. */
export class PresenceView {
  readonly #servers = new Map<string, ServerInfo>();
  /** Servers that said bye within BYE_HOLDS_MS, by when; at most MAX_KNOWN_SERVERS. */
  readonly #gone = new Map<string, number>();

  /**
   * Applies an announcement heard at `now`. Returns 'joined' when a server became known, 'left'
   * when one said bye, 'ignored' when nothing changed: a bye of a server not in view, an answer to a
   * ping from one that said bye (BYE_HOLDS_MS), a new server while MAX_KNOWN_SERVERS are known (those
   * in view stay: a flood of new ids cannot push out the servers a client relies on; room comes as
   * silent ones expire); 'updated' otherwise.
   */
  apply(announcement: ServerAnnouncement, now: number): 'joined' | 'left' | 'updated' | 'ignored' {
    const { kind, ...info } = announcement;
    for (const [id, at] of this.#gone) {
      if (now - at <= BYE_HOLDS_MS && this.#gone.size < MAX_KNOWN_SERVERS) break; // oldest first
      this.#gone.delete(id);
    }
    if (kind === 'bye') {
      this.#gone.delete(info.id); // re-inserted last: the map stays in order of time
      this.#gone.set(info.id, now);
      return this.#servers.delete(info.id) ? 'left' : 'ignored';
    }
    if (kind === 'pong' && this.#gone.has(info.id)) return 'ignored';
    this.#gone.delete(info.id); // back (a hello, a beat): the same id started again
    const known = this.#servers.has(info.id);
    if (!known && this.#servers.size >= MAX_KNOWN_SERVERS) return 'ignored';
    this.#servers.set(info.id, { ...info, lastSeen: now, announcedAt: now });
    return known ? 'updated' : 'joined';
  }

  /** Server `id`, if known, showed at `now` that it is alive (it answered a request); returns its queue then. */
  seen(id: string, now: number): string | undefined {
    const server = this.#servers.get(id);
    if (server === undefined) return undefined;
    server.lastSeen = now;
    return server.queue;
  }

  /**
   * Restarts every server's clock at `now`. A client that was disconnected could not hear the
   * beats, so their absence says nothing about the servers; after a reconnect each known server
   * gets MISSED_BEATS beats to show it is still there.
   */
  resume(now: number): void {
    for (const server of this.#servers.values()) server.lastSeen = now;
  }

  /** Forgets servers that missed MISSED_BEATS beats; returns how many went. */
  expire(now: number): number {
    let gone = 0;
    for (const [id, server] of this.#servers) {
      if (server.lastSeen > now) server.lastSeen = now; // the clock was set back: counted from now, not for hours
      if (now - server.lastSeen > MISSED_BEATS * server.beatMs) {
        this.#servers.delete(id);
        gone++;
      }
    }
    return gone;
  }

  /**
   * Live servers, of one queue or all, ordered by id: copies, which a later reply or beat leaves as
   * they are. Shallow: `stats` is the announcement's own, which the view replaces and never changes.
   */
  list(queue?: string): ServerInfo[] {
    const servers: ServerInfo[] = [];
    for (const server of this.#servers.values())
      if (queue === undefined || server.queue === queue) servers.push({ ...server });
    return servers.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  hasServerFor(queue: string): boolean {
    for (const server of this.#servers.values()) if (server.queue === queue) return true;
    return false;
  }

  get size(): number {
    return this.#servers.size;
  }
}
