/*
 * Which servers are live, and so whether a call can go: the client's side of presence
 * (protocol/presence.ts).
 *
 * Presence costs the broker one delivery per listening client per server beat, so by default a
 * client does not listen: every call goes out at once (`whenNoServers: 'wait'`, since a server that
 * never announces itself is real too), and only when a call has had no reply from its queue for
 * PROBE_AFTER_MS (or half its deadline, if sooner), though the broker confirmed its request, does
 * the client ask "who is there?", and not again before the broker confirmed that ping: until it
 * has, the broker has not got to the question, and asking again only adds to its backlog (in a
 * storm of first calls, a ping and every server's answer to it per client and second). The
 * answers come to the client's own reply queue. An idle client costs nothing. A watching client
 * (asked for, or needed by `whenNoServers: 'fail'`) listens to the announcements on every
 * connection and pings at once: right after connecting it cannot know yet, so with 'fail' a call
 * to a queue with no known server is held for a discovery window and goes out the moment a server
 * for its queue answers; when the window ends, what is still held fails with NO_SERVERS. Servers
 * that stop beating are forgotten after MISSED_BEATS beats, by this client's own clock; beats a
 * lagging broker holds back look the same, so a watching client also asks, as above, before a
 * call that heard nothing ends with NO_SERVERS.
 */

import { RpcError } from '../errors.js';
import { ASKER_INTERVAL_MS, parseAnnouncement, type ServerInfo } from '../protocol/presence.js';
import type { Clock, Timer } from './clock.js';
import { PresenceView } from './presence-view.js';
import { RecentReplies } from './recent-replies.js';
import { ServerContacts } from './server-contacts.js';

/** What to do with a call now: send it, hold it until discovery decides, or fail it with NO_SERVERS. */
export type Verdict = 'send' | 'hold' | 'fail';

/** A timer this late means the event loop was blocked; the window starts again. */
const LATE_TIMER_MS = 50;
/** How often servers that stopped beating are looked for. */
const EXPIRY_CHECK_MS = 1000;
/**
 * Discovery windows after a connection, at most: neither a blocked event loop nor a broker slow to
 * confirm the ping can hold calls forever.
 */
export const MAX_DISCOVERY_WINDOWS = 10;
/** A call with no reply from its queue for this long makes the client ask who is there. */
export const PROBE_AFTER_MS = 1000;
/**
 * Pings after the first wait PROBE_AFTER_MS and up to this much more, at random. A server answers
 * only the first so many pings of each second; pings a fixed second apart would reach it at the
 * same point of every second, and the same clients would be the ones left unanswered each time.
 */
export const PROBE_JITTER_MS = 250;
/** A ping the broker confirmed within this long was not stuck behind a backlog: servers got it in time. */
export const PROMPT_PING_MS = 1000;
/**
 * Silence after a prompt ping's RECEIPT that means no server: at least this long, and four times
 * the ping's own round trip (an answer crosses the broker twice, as the ping and its RECEIPT did).
 */
export const ANSWER_WAIT_MS = 50;
/** Receipt ids of pings start with this. */
const PING_PREFIX = 'ping-';
/**
 * How long a reply from a queue shows, to a client that does not watch, that something consumes it
 * (three default beats). Such a client hears no beats, and servers over their answer rate drop its
 * pings, so a recent reply is its sign of life; a watching client saw its servers leave.
 */
const RECENT_REPLY_MS = 6000;

export interface ServerDiscoveryOptions {
  /** Follow presence at all; off: every call is sent. */
  enabled: boolean;
  /** Fail calls to a queue no live server consumes (true), or send them anyway (false). Implies `watch`. */
  failFast: boolean;
  /** Listen to every announcement (a live list); otherwise ask only when a call goes unanswered. */
  watch: boolean;
  /** How long a discovery window lasts after each connection. */
  discoveryMs: number;
  /** A number in [0, 1), for the pings' jitter. @default Math.random */
  random?: (() => number) | undefined;
  onServersChange?: ((servers: ServerInfo[]) => void) | undefined;
}

export interface ServerDiscoveryEvents {
  /** Subscribes to the announcements topic; false when the connection is gone. */
  listen(onAnnouncement: (body: string) => void): boolean;
  /** Publishes a "who is there?" ping asking for RECEIPT `receiptId`. */
  ping(receiptId: string): void;
  connected(): boolean;
  /** Why the connection last ended, if it did. */
  lastError(): RpcError | undefined;
  /** A server joined or a window ended: held calls can be decided now. */
  decide(): void;
  /**
   * Whether a sent call has heard nothing from its queue (no reply, no known server) for its probe
   * delay (see `sent`) by `now`. Such a call is worth a ping.
   */
  unanswered(now: number): boolean;
  /** Whether any call is pending. */
  waiting(): boolean;
}

/** A "who is there?" as it went out. */
interface Ping {
  id: string;
  sentAt: number;
}

/**
 * How long the answers to a ping may take after its RECEIPT: at least ANSWER_WAIT_MS, and four
 * times the ping's own round trip (an answer crosses the broker twice, as the ping and its RECEIPT did).
 */
function answerWaitMs(ping: Ping, confirmedAt: number): number {
  return Math.max(ANSWER_WAIT_MS, 4 * (confirmedAt - ping.sentAt));
}

const closedError = () => new RpcError('CLOSED', 'the client was closed');

/**
 * A connection that dropped while the servers were asked: the question or its answers may be lost
 * (RabbitMQ closes the connection of a user who may not publish the ping), and the silence would
 * read as no server.
 */
function droppedError(cause: RpcError | undefined): RpcError {
  return new RpcError('CONNECTION_LOST', 'the connection dropped while the servers were asked who is there', { cause });
}

export class ServerDiscovery {
  readonly #view = new PresenceView();
  /** When each server was last heard from, which a reconnect does not restart. */
  readonly #contacts = new ServerContacts();
  /** When a reply last came from each queue: a queue that answers has a server, announced or not. */
  readonly #replies = new RecentReplies();
  readonly #options: ServerDiscoveryOptions;
  readonly #clock: Clock;
  readonly #events: ServerDiscoveryEvents;
  /** Set while the answers to this connection's ping are awaited. */
  #window: Timer | undefined;
  #expiry: Timer | undefined;
  #probe: Timer | undefined;
  #lastExpiryCheck = 0;
  /** When an announcement last came in: recently, then this client is listening. */
  #lastHeardAt = Number.NEGATIVE_INFINITY;
  #closed = false;
  #pings = 0;
  /** Connections so far: one that changed during ask() lost the question or its answers. */
  #connections = 0;
  /** The latest ping, until its RECEIPT. */
  #unconfirmedPing: Ping | undefined;
  /** The latest ping the broker confirmed within PROMPT_PING_MS, on this connection. */
  #promptPing: (Ping & { confirmedAt: number }) | undefined;
  /** When the answers to the latest ping the broker confirmed are due (see answerWaitMs), on this connection. */
  #answersDueAt = Number.NEGATIVE_INFINITY;
  /** When the probe timer fires. */
  #probeDue = 0;
  /** The earliest time of the next ping, PROBE_AFTER_MS and a jitter after the last. */
  #nextPingAt = Number.NEGATIVE_INFINITY;

  constructor(options: ServerDiscoveryOptions, clock: Clock, events: ServerDiscoveryEvents) {
    this.#options = options;
    this.#clock = clock;
    this.#events = events;
  }

  get enabled(): boolean {
    return this.#options.enabled;
  }

  get watching(): boolean {
    return this.#options.enabled && (this.#options.watch || this.#options.failFast);
  }

  /** A new connection: when watching, listen, ask who is there, and open the discovery window. */
  connected(): void {
    if (!this.#options.enabled || this.#closed) return;
    this.#connections++;
    this.#view.resume(this.#clock.now());
    this.#unconfirmedPing = undefined;
    this.#promptPing = undefined;
    this.#answersDueAt = Number.NEGATIVE_INFINITY;
    if (!this.watching) return;
    if (!this.#events.listen((body) => this.heard(body))) return; // dropped meanwhile; the next connection discovers again
    this.ping();
    this.#clock.clearTimeout(this.#window);
    this.#openWindow(MAX_DISCOVERY_WINDOWS);
  }

  /** Asks every server "who is there?"; the answers come to this connection's reply queue. Returns when it asked. */
  ping(): number {
    const id = `${PING_PREFIX}${++this.#pings}`;
    const now = this.#clock.now();
    const random = this.#options.random ?? Math.random;
    this.#nextPingAt = now + PROBE_AFTER_MS + random() * PROBE_JITTER_MS;
    this.#unconfirmedPing = { id, sentAt: now };
    this.#events.ping(id);
    return now;
  }

  /**
   * Pings and waits `waitMs` for the answers (discoverServers()), then, as a discovery window does,
   * on while the broker has not confirmed the ping and until its answers are due: a broker slow to
   * confirm (a connect storm) may not have passed it on yet. At most MAX_DISCOVERY_WINDOWS waits
   * of `waitMs`. Returns when it asked; rejects once closed, or when the connection dropped
   * meanwhile (see droppedError).
   */
  async ask(waitMs: number, sleep: (ms: number) => Promise<void>): Promise<number> {
    if (this.#closed) throw closedError(); // before the ping: closed while the caller waited to connect
    const connection = this.#connections;
    const askedAt = this.ping();
    for (let waits = 1, ms = waitMs; ms > 0 || waits === 1; waits++) {
      await sleep(ms);
      if (this.#closed) throw closedError();
      if (connection !== this.#connections || !this.#events.connected()) throw droppedError(this.#events.lastError());
      ms = waits === MAX_DISCOVERY_WINDOWS ? 0 : this.#answersPendingMs(waitMs);
    }
    return askedAt;
  }

  /** Whether a RECEIPT id is a ping's (see pingReceipt). */
  isPing(receiptId: string): boolean {
    return receiptId.startsWith(PING_PREFIX);
  }

  /** The broker's RECEIPT for a ping: it has routed it to every server listening. */
  pingReceipt(receiptId: string): void {
    const ping = this.#unconfirmedPing;
    if (ping?.id !== receiptId) return; // an older ping, or one of an earlier connection
    this.#unconfirmedPing = undefined;
    const now = this.#clock.now();
    this.#answersDueAt = now + answerWaitMs(ping, now);
    if (now - ping.sentAt <= PROMPT_PING_MS) this.#promptPing = { ...ping, confirmedAt: now };
  }

  /**
   * Whether this client knows that no server answers, rather than not having heard yet: it asked
   * who is there since `since` (a watching client too: beats that stopped coming because the
   * broker lags prove nothing, and its ping on connecting may be hours old), the broker took the
   * question promptly, and no answer came in the time one takes (ANSWER_WAIT_MS). A busy broker
   * confirms late, so under load silence is not taken for absence. A server of `queue` heard from
   * since `since` shows that the queue is served, even if this client has forgotten it since (a
   * client that does not watch keeps a server that answered for three beats, and a call may wait
   * longer) and a later ping went unanswered (a server answers an asker once per ASKER_INTERVAL_MS,
   * and only so many askers per second in a storm of pings).
   */
  askedInVain(since: number, queue: string | undefined): boolean {
    const ping = this.#promptPing;
    if (ping === undefined || ping.sentAt < since || (queue !== undefined && this.#contacts.heardFor(queue, since))) {
      return false;
    }
    return this.#clock.now() - ping.confirmedAt >= answerWaitMs(ping, ping.confirmedAt);
  }

  /** Send, hold or fail a call to `queue` (undefined: a destination that names no queue). */
  verdict(queue: string | undefined): Verdict {
    if (!this.#options.failFast || queue === undefined || this.#view.hasServerFor(queue)) return 'send';
    return this.#window === undefined ? 'fail' : 'hold';
  }

  /**
   * A call went out: the client checks on it after `probeAfterMs` (PROBE_AFTER_MS, or less for a
   * call whose deadline is nearer, so that it can still learn the answer in time).
   */
  sent(probeAfterMs = PROBE_AFTER_MS): void {
    if (!this.#options.enabled || this.#closed) return;
    const now = this.#clock.now();
    // Never more than one ping per PROBE_AFTER_MS, however short the calls' deadlines.
    const due = Math.max(now + probeAfterMs, this.#nextPingAt);
    if (this.#probe !== undefined && this.#probeDue <= due) return;
    this.#clock.clearTimeout(this.#probe);
    this.#probeDue = due;
    this.#probe = this.#clock.setTimeout(() => this.#probeUnanswered(), due - now);
  }

  /** No call is pending: nothing to probe for. */
  idle(): void {
    this.#clock.clearTimeout(this.#probe);
    this.#probe = undefined;
  }

  /** An announcement or an answer to a ping. */
  heard(body: string): void {
    const announcement = parseAnnouncement(body);
    if (announcement === undefined || this.#closed) return;
    const now = this.#clock.now();
    this.#lastHeardAt = now;
    const change = this.#view.apply(announcement, now);
    if (announcement.kind === 'bye') this.#contacts.gone(announcement.id);
    else if (change !== 'ignored') this.#contacts.heard(announcement.id, announcement.queue, now);
    if (change === 'ignored') return; // nothing changed: no list to copy and hand out
    if (change === 'joined') {
      if (this.#expiry === undefined) {
        this.#lastExpiryCheck = this.#clock.now();
        this.#scheduleExpiry();
      }
      this.#events.decide(); // calls held for this queue can go
    }
    this.#notify();
  }

  /**
   * A call to `queue` got a reply, from server `id` when it said so: the queue has a server, and
   * that server is alive now, as a beat would say. A client that does not watch hears no beats, so
   * without this it would forget, and ping again for, a server that answers it all the time.
   */
  replied(id: string | undefined, queue: string | undefined): void {
    const now = this.#clock.now();
    if (queue !== undefined) this.#replies.heard(queue, now);
    if (id === undefined || this.#closed) return;
    const served = this.#view.seen(id, now);
    if (served !== undefined) this.#contacts.heard(id, served, now);
  }

  /** A call to `queue` ended without its reply: one that comes later still shows the queue is served. */
  ended(correlationId: string, queue: string | undefined): void {
    if (queue !== undefined) this.#replies.ended(correlationId, queue);
  }

  /** A reply for no call waiting: one that ended (its deadline passed on a slow queue, say) was answered after all. */
  lateReply(correlationId: string | undefined, id: string | undefined): void {
    this.#replies.late(correlationId, this.#clock.now());
    this.replied(id, undefined);
  }

  /**
   * Whether nothing is known to consume `queue`: no server of it in view, and no reply from it
   * since `since` (or, for a client that does not watch, shortly before: RECENT_REPLY_MS says why).
   */
  unheard(queue: string, since: number): boolean {
    if (this.#view.hasServerFor(queue)) return false;
    return this.#replies.lastAt(queue) < (this.watching ? since : since - RECENT_REPLY_MS);
  }

  /**
   * The live servers (of `queue`, or all). With `askedAt`, the time of a ping, for a client that
   * does not watch only those that answered it: such a client hears no byes, so one it knew from an
   * earlier ping may be gone (a reconnect restarts `lastSeen`, not the time it was last heard from).
   * A server answers an asker once per ASKER_INTERVAL_MS, so an answer that came that long before
   * the ping counts.
   */
  servers(queue?: string, askedAt?: number): ServerInfo[] {
    const servers = this.#view.list(queue);
    if (askedAt === undefined || this.watching) return servers;
    return servers.filter((server) => this.#contacts.lastAt(server.id) >= askedAt - ASKER_INTERVAL_MS);
  }

  close(): void {
    this.#closed = true;
    this.#clock.clearTimeout(this.#window);
    this.#clock.clearTimeout(this.#expiry);
    this.#clock.clearTimeout(this.#probe);
    this.#window = undefined;
    this.#expiry = undefined;
    this.#probe = undefined;
  }

  /** A ping per PROBE_AFTER_MS at most, while a call heard nothing from its queue and the last ping was confirmed. */
  #probeUnanswered(): void {
    this.#probe = undefined;
    const canAsk = this.#unconfirmedPing === undefined && this.#events.connected();
    if (canAsk && this.#events.unanswered(this.#clock.now())) this.ping();
    if (this.#events.waiting()) this.sent();
  }

  /**
   * Ends discovery after a window in which this client could actually listen and the servers could
   * answer. A timer that fires late means the event loop was blocked (a page still loading, a burst
   * of calls being made) and the answers may still be unread, or, for a server in the same process,
   * unsent; the window then starts again. So it does while the broker has not confirmed the ping
   * (in a connect storm it may take longer than a window): the servers may not even have it yet;
   * once it has, the window lasts until the answers are due. Each time for at most one window, and
   * MAX_DISCOVERY_WINDOWS windows in all.
   */
  #openWindow(windowsLeft: number, windowMs = this.#options.discoveryMs): void {
    const due = this.#clock.now() + windowMs;
    this.#window = this.#clock.setTimeout(() => {
      const now = this.#clock.now();
      if (windowsLeft > 1) {
        const pendingMs = now - due > LATE_TIMER_MS ? this.#options.discoveryMs : this.#answersPendingMs();
        if (pendingMs > 0) {
          this.#openWindow(windowsLeft - 1, pendingMs);
          return;
        }
      }
      this.#window = undefined;
      this.#events.decide(); // what is still held now fails with NO_SERVERS
    }, windowMs);
  }

  /**
   * How much longer the answers to the latest ping may take, at most `windowMs`: all of it while
   * the broker has not confirmed the ping, then until the answers are due; 0 once they are.
   */
  #answersPendingMs(windowMs = this.#options.discoveryMs): number {
    if (this.#unconfirmedPing !== undefined) return windowMs;
    return Math.min(Math.max(0, this.#answersDueAt - this.#clock.now()), windowMs);
  }

  #scheduleExpiry(): void {
    this.#expiry = this.#clock.setTimeout(() => this.#expireServers(), EXPIRY_CHECK_MS);
  }

  #expireServers(): void {
    const now = this.#clock.now();
    const sinceLastCheck = now - this.#lastExpiryCheck;
    this.#lastExpiryCheck = now;
    this.#expiry = undefined;
    if (this.#events.connected()) {
      // A check this late, with nothing heard lately, means this client's event loop was stalled
      // (or the machine slept): it did not listen, so the servers' silence proves nothing. Had it
      // heard announcements just now, only its timers were slow (a hidden tab's run once a
      // minute), and a server that stayed silent meanwhile is gone.
      const listening = now - this.#lastHeardAt <= 2 * EXPIRY_CHECK_MS;
      if (sinceLastCheck > 2 * EXPIRY_CHECK_MS && !listening) this.#view.resume(now);
      if (this.#view.expire(now) > 0) this.#notify();
    } // else beats cannot arrive now; resume() on reconnect
    if (this.#view.size > 0 && !this.#closed) this.#scheduleExpiry(); // closed from onServersChange, say
  }

  #notify(): void {
    try {
      this.#options.onServersChange?.(this.#view.list());
    } catch {
      // the application's callback must not stop discovery (in a timer, it would also end Node)
    }
  }
}
