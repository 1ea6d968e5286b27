import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../test/manual-clock.js';
import { MISSED_BEATS, type ServerAnnouncement, type ServerInfo } from '../protocol/presence.js';
import {
  ANSWER_WAIT_MS,
  MAX_DISCOVERY_WINDOWS,
  PROBE_AFTER_MS,
  PROBE_JITTER_MS,
  PROMPT_PING_MS,
  ServerDiscovery,
  type ServerDiscoveryOptions,
} from './server-discovery.js';

const DISCOVERY_MS = 300;
const BEAT_MS = 1000;

/** An announcement body as a server publishes it. */
function announcement(overrides: Partial<ServerAnnouncement> = {}): string {
  const valid: ServerAnnouncement = {
    kind: 'hello',
    id: 'server-1',
    host: 'host-a',
    pid: 4242,
    version: '1.0.0',
    queue: 'q',
    prefetch: 4,
    inFlight: 0,
    beatMs: BEAT_MS,
    startedAt: '2024-01-01T00:00:00.000Z',
    stats: {
      requests: 0,
      succeeded: 0,
      errors: {},
      dropped: 0,
      processingMs: { total: 0, average: 0 },
      latency: { boundsMs: [1], counts: [0, 0], count: 0, sumMs: 0, maxMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0 },
    },
  };
  return JSON.stringify({ ...valid, ...overrides });
}

function setup(options: Partial<ServerDiscoveryOptions> = {}) {
  const clock = new ManualClock();
  const log = { listens: 0, pings: 0, decides: 0, lastPing: '' };
  const link = { connected: true, canListen: true, unanswered: false, waiting: false };
  const changes: ServerInfo[][] = [];
  /** What the subscription to the announcements topic delivers to. */
  let announce: (body: string) => void = () => {
    throw new Error('not listening');
  };
  const discovery = new ServerDiscovery(
    {
      enabled: true,
      failFast: true,
      watch: true,
      discoveryMs: DISCOVERY_MS,
      random: () => 0, // pings exactly PROBE_AFTER_MS apart
      onServersChange: (servers) => changes.push(servers),
      ...options,
    },
    clock,
    {
      listen: (onAnnouncement) => {
        log.listens++;
        announce = onAnnouncement;
        return link.canListen;
      },
      ping: (receiptId) => {
        log.pings++;
        log.lastPing = receiptId;
      },
      connected: () => link.connected,
      lastError: () => undefined,
      decide: () => log.decides++,
      unanswered: () => link.unanswered,
      waiting: () => link.waiting,
    },
  );
  const ids = (queue?: string) => discovery.servers(queue).map((server) => server.id);
  /** A connection on a broker that confirms the ping at once: the window ends on time. */
  const connect = () => {
    discovery.connected();
    discovery.pingReceipt(log.lastPing);
  };
  return { clock, log, link, changes, discovery, ids, connect, announce: (body: string) => announce(body) };
}

describe('ServerDiscovery', () => {
  it('askedInVain - only after a ping the broker confirmed within PROMPT_PING_MS, and ANSWER_WAIT_MS of silence after', () => {
    const { discovery, clock, log } = setup({ failFast: false, watch: false });
    discovery.connected();
    expect(discovery.askedInVain(0, 'q')).toBe(false); // never asked
    discovery.ping();
    expect(discovery.isPing(log.lastPing)).toBe(true);
    clock.advance(PROMPT_PING_MS + 1);
    discovery.pingReceipt(log.lastPing); // a busy broker: too late to tell anything
    clock.advance(10_000);
    expect(discovery.askedInVain(0, 'q')).toBe(false);
    discovery.ping();
    clock.advance(5);
    discovery.pingReceipt(log.lastPing);
    clock.advance(ANSWER_WAIT_MS - 1);
    expect(discovery.askedInVain(0, 'q')).toBe(false);
    clock.advance(1);
    expect(discovery.askedInVain(0, 'q')).toBe(true);
    // A client that does not watch knows only from a ping made since the call began.
    expect(discovery.askedInVain(clock.now(), 'q')).toBe(false);
    discovery.connected(); // a new connection: nothing known on it yet
    expect(discovery.askedInVain(0, 'q')).toBe(false);
  });

  it("askedInVain - for a watching client too, only a ping since the call began counts (its ping on connecting may be hours old, and beats that stop while the broker lags prove nothing); an old ping's receipt does not", () => {
    const { discovery, clock, log } = setup({ failFast: false, watch: true });
    discovery.connected();
    const first = log.lastPing;
    discovery.ping();
    discovery.pingReceipt(first); // not the latest ping
    clock.advance(ANSWER_WAIT_MS);
    expect(discovery.askedInVain(0, 'q')).toBe(false);
    const pingedAt = clock.now();
    discovery.ping();
    clock.advance(2);
    discovery.pingReceipt(log.lastPing);
    clock.advance(ANSWER_WAIT_MS);
    expect(discovery.askedInVain(pingedAt, 'q')).toBe(true);
    expect(discovery.askedInVain(pingedAt + 1, 'q')).toBe(false); // a call that began after the ping
  });

  it('askedInVain - not when a server of the queue answered since the call began, though this client forgot it since (it heard no beat for three) and a later ping went unanswered', () => {
    const { discovery, clock, log } = setup({ failFast: false, watch: false });
    discovery.connected();
    discovery.ping();
    discovery.heard(announcement({ kind: 'pong', queue: 'q' })); // the answer may come before the RECEIPT
    clock.advance(2);
    discovery.pingReceipt(log.lastPing);
    discovery.heard(announcement({ kind: 'pong', id: 'server-2', queue: 'other' }));
    clock.advance(MISSED_BEATS * BEAT_MS + 2 * PROBE_AFTER_MS);
    expect(discovery.servers()).toEqual([]); // forgotten: no beat since the answer
    expect(discovery.askedInVain(0, 'q')).toBe(false);
    expect(discovery.askedInVain(0, 'other')).toBe(false);
    expect(discovery.askedInVain(0, 'third')).toBe(true);
    // Asked again, and unanswered: a server answers an asker once per ASKER_INTERVAL_MS, and only
    // so many askers a second in a storm of pings. The answer that came while the call waited stands.
    discovery.ping();
    clock.advance(1);
    discovery.pingReceipt(log.lastPing);
    clock.advance(ANSWER_WAIT_MS);
    expect(discovery.askedInVain(0, 'q')).toBe(false);
    expect(discovery.askedInVain(1, 'q')).toBe(true); // a call begun after the answer heard nothing
  });

  it('askedInVain - a server that answered and then said bye no longer answers for its queue, unless another that answered has not, even once forgotten', () => {
    const { discovery, clock, log, ids } = setup({ failFast: false, watch: true });
    discovery.connected();
    discovery.ping();
    clock.advance(2);
    discovery.pingReceipt(log.lastPing);
    discovery.heard(announcement({ kind: 'pong', id: 'a', queue: 'q' }));
    discovery.heard(announcement({ kind: 'pong', id: 'b', queue: 'q' }));
    // Only a beats on: b (blocked by a long call, say) is forgotten.
    for (let beat = 0; beat <= MISSED_BEATS; beat++) {
      clock.advance(BEAT_MS);
      discovery.heard(announcement({ kind: 'beat', id: 'a', queue: 'q' }));
    }
    clock.advance(BEAT_MS);
    expect(ids()).toEqual(['a']);
    discovery.heard(announcement({ kind: 'bye', id: 'a', queue: 'q' }));
    expect(discovery.askedInVain(0, 'q')).toBe(false); // b answered, and never said bye
    discovery.heard(announcement({ kind: 'bye', id: 'b', queue: 'q' })); // not in view: still heard
    expect(discovery.askedInVain(0, 'q')).toBe(true);
  });

  it('servers - for a client that does not watch, with the time of a ping: only those heard since, though a reconnect restarted every lastSeen', () => {
    const { discovery, clock } = setup({ failFast: false, watch: false });
    discovery.connected();
    discovery.ping();
    discovery.heard(announcement({ kind: 'pong', id: 'a' }));
    discovery.heard(announcement({ kind: 'pong', id: 'b' }));
    clock.advance(1000);
    discovery.connected(); // a reconnect: b stopped meanwhile, and its bye was not heard
    const askedAt = discovery.ping();
    clock.advance(5);
    discovery.heard(announcement({ kind: 'pong', id: 'a' }));
    expect(discovery.servers(undefined, askedAt).map((server) => server.id)).toEqual(['a']);
    expect(discovery.servers().map((server) => server.id)).toEqual(['a', 'b']); // in view still, for its beats
  });

  it('askedInVain - the wait for answers is four times the ping round trip when that is longer than ANSWER_WAIT_MS', () => {
    const { discovery, clock, log } = setup({ failFast: false, watch: false });
    discovery.connected();
    discovery.ping();
    clock.advance(100);
    discovery.pingReceipt(log.lastPing);
    clock.advance(399);
    expect(discovery.askedInVain(0, 'q')).toBe(false);
    clock.advance(1);
    expect(discovery.askedInVain(0, 'q')).toBe(true);
  });

  it('not watching - a call with a near deadline is probed sooner, but never more than one ping per PROBE_AFTER_MS', () => {
    const { discovery, clock, log, link } = setup({ failFast: false, watch: false });
    discovery.connected();
    link.unanswered = true;
    link.waiting = true;
    discovery.sent(150);
    clock.advance(150);
    expect(log.pings).toBe(1);
    discovery.pingReceipt(log.lastPing);
    discovery.sent(150); // another short call: the next ping still waits a second from the last
    clock.advance(PROBE_AFTER_MS - 1);
    expect(log.pings).toBe(1);
    clock.advance(1);
    expect(log.pings).toBe(2);
  });

  it('verdict - sends every call when failFast is off', () => {
    const { discovery } = setup({ failFast: false });
    discovery.connected();
    expect(discovery.verdict('q')).toBe('send');
  });

  it('verdict - sends a call whose destination names no queue', () => {
    const { discovery, clock } = setup();
    discovery.connected();
    expect(discovery.verdict(undefined)).toBe('send');
    clock.advance(DISCOVERY_MS);
    expect(discovery.verdict(undefined)).toBe('send');
  });

  it('verdict - holds a call to an unknown queue during the window, fails it after', () => {
    const { discovery, clock, log, connect } = setup();
    connect();
    expect(discovery.verdict('q')).toBe('hold');
    clock.advance(DISCOVERY_MS - 1);
    expect(discovery.verdict('q')).toBe('hold');
    expect(log.decides).toBe(0);
    clock.advance(1);
    expect(discovery.verdict('q')).toBe('fail');
    expect(log.decides).toBe(1);
  });

  it('verdict - sends to a queue once a server for it is known, and only to that queue', () => {
    const { discovery, announce, clock, connect } = setup();
    connect();
    announce(announcement({ kind: 'pong', queue: 'q' }));
    expect(discovery.verdict('q')).toBe('send');
    expect(discovery.verdict('other')).toBe('hold');
    clock.advance(DISCOVERY_MS);
    expect(discovery.verdict('q')).toBe('send');
    expect(discovery.verdict('other')).toBe('fail');
  });

  it('connected - listens, pings and opens the window on every connection', () => {
    const { discovery, log, clock, connect } = setup();
    connect();
    expect(log).toMatchObject({ listens: 1, pings: 1, decides: 0 });
    expect(clock.pendingTimers).toBe(1);
    clock.advance(DISCOVERY_MS);
    connect(); // a reconnect
    expect(log).toMatchObject({ listens: 2, pings: 2, decides: 1 });
    expect(discovery.verdict('q')).toBe('hold');
  });

  it('connected - a new connection during a window starts the window again', () => {
    const { discovery, log, clock, connect } = setup();
    connect();
    clock.advance(200);
    connect();
    expect(clock.pendingTimers).toBe(1);
    clock.advance(DISCOVERY_MS - 1);
    expect(discovery.verdict('q')).toBe('hold');
    clock.advance(1);
    expect(discovery.verdict('q')).toBe('fail');
    expect(log.decides).toBe(1);
  });

  it('connected - when listening fails, neither pings nor opens a window', () => {
    const { discovery, log, link, clock } = setup();
    link.canListen = false;
    discovery.connected();
    expect(log).toMatchObject({ listens: 1, pings: 0, decides: 0 });
    expect(clock.pendingTimers).toBe(0);
    expect(discovery.verdict('q')).toBe('fail');
  });

  it('connected - does nothing when presence is off', () => {
    const { discovery, log, clock } = setup({ enabled: false, failFast: false });
    discovery.connected();
    expect(log).toMatchObject({ listens: 0, pings: 0, decides: 0 });
    expect(clock.pendingTimers).toBe(0);
    expect(discovery.enabled).toBe(false);
  });

  it('not watching - a connection neither listens nor pings nor arms a timer', () => {
    const { discovery, log, clock } = setup({ failFast: false, watch: false });
    discovery.connected();
    expect(log).toMatchObject({ listens: 0, pings: 0, decides: 0 });
    expect(clock.pendingTimers).toBe(0);
    expect(discovery.verdict('q')).toBe('send');
  });

  it('not watching - pings after the first come PROBE_AFTER_MS and a random jitter apart, so that a server answering the first so many pings of each second does not leave out the same clients every second', () => {
    const draws = [0.5, 0.999, 0];
    const { discovery, clock, log, link } = setup({ failFast: false, watch: false, random: () => draws.shift() ?? 0 });
    discovery.connected();
    link.unanswered = true;
    link.waiting = true;
    discovery.sent();
    const pingTimes: number[] = [];
    for (let ms = 0; ms < 4000; ms++) {
      const before = log.pings;
      clock.advance(1);
      if (log.pings > before) pingTimes.push(clock.now());
      discovery.pingReceipt(log.lastPing); // the broker takes each ping at once
    }
    expect(pingTimes).toEqual([
      PROBE_AFTER_MS,
      2 * PROBE_AFTER_MS + 0.5 * PROBE_JITTER_MS,
      3 * PROBE_AFTER_MS + Math.ceil(1.499 * PROBE_JITTER_MS),
    ]);
  });

  it('not watching - after a send, pings once per probe period while a call is unanswered; stops when none waits', () => {
    const { discovery, log, link, clock } = setup({ failFast: false, watch: false });
    discovery.connected();
    link.waiting = true;
    discovery.sent();
    discovery.sent(); // one probe timer, however many sends
    expect(clock.pendingTimers).toBe(1);
    clock.advance(PROBE_AFTER_MS);
    expect(log.pings).toBe(0); // waiting, but every call has heard from its queue
    link.unanswered = true;
    clock.advance(PROBE_AFTER_MS);
    discovery.pingReceipt(log.lastPing);
    clock.advance(PROBE_AFTER_MS);
    expect(log.pings).toBe(2);
    discovery.pingReceipt(log.lastPing);
    link.connected = false;
    clock.advance(PROBE_AFTER_MS);
    expect(log.pings).toBe(2); // nowhere to ping
    link.connected = true;
    link.waiting = false;
    clock.advance(PROBE_AFTER_MS);
    expect(log.pings).toBe(3);
    expect(clock.pendingTimers).toBe(0);
  });

  // Regression: in a storm of 1,000 first calls every client pinged each second while the broker
  // had not got to its ping (1,623 pings, each answered by every server), adding to the backlog.
  it('not watching - no second ping while the broker has not confirmed the first: it has not got to the question yet', () => {
    const { discovery, log, link, clock } = setup({ failFast: false, watch: false });
    discovery.connected();
    link.unanswered = true;
    link.waiting = true;
    discovery.sent();
    clock.advance(PROBE_AFTER_MS);
    expect(log.pings).toBe(1);
    clock.advance(5 * PROBE_AFTER_MS);
    expect(log.pings).toBe(1);
    discovery.pingReceipt(log.lastPing);
    clock.advance(PROBE_AFTER_MS);
    expect(log.pings).toBe(2); // confirmed and still unanswered: ask again
    discovery.connected(); // a new connection: the unconfirmed ping was lost with the old one
    discovery.sent();
    clock.advance(PROBE_AFTER_MS);
    expect(log.pings).toBe(3);
  });

  it('not watching - idle() clears the probe: no timer outlives the last pending call', () => {
    const { discovery, clock } = setup({ failFast: false, watch: false });
    discovery.sent();
    expect(clock.pendingTimers).toBe(1);
    discovery.idle();
    expect(clock.pendingTimers).toBe(0);
  });

  it('watching - a send arms a probe too: when no reply comes, the client asks rather than trust beats that a lagging broker may hold back', () => {
    const { discovery, clock } = setup({ failFast: false, watch: true });
    discovery.connected();
    const before = clock.pendingTimers;
    discovery.sent();
    expect(clock.pendingTimers).toBe(before + 1);
  });

  it('decide - called when a server joins, not when a known one beats or one leaves', () => {
    const { discovery, announce, log } = setup();
    discovery.connected();
    announce(announcement({ kind: 'hello', id: 'a' }));
    expect(log.decides).toBe(1);
    announce(announcement({ kind: 'beat', id: 'a', inFlight: 2 }));
    expect(log.decides).toBe(1);
    announce(announcement({ kind: 'hello', id: 'b' }));
    expect(log.decides).toBe(2);
    announce(announcement({ kind: 'bye', id: 'a' }));
    expect(log.decides).toBe(2);
  });

  it(`window - a timer that fires late starts the window again, ${MAX_DISCOVERY_WINDOWS} windows in all`, () => {
    const { discovery, clock, log, connect } = setup();
    connect();
    for (let restart = 1; restart < MAX_DISCOVERY_WINDOWS; restart++) {
      clock.stall(DISCOVERY_MS + 1000); // the event loop was blocked
      clock.advance(0);
      expect(discovery.verdict('q'), `after late window ${restart}`).toBe('hold');
      expect(log.decides).toBe(0);
      expect(clock.pendingTimers).toBe(1);
    }
    clock.stall(DISCOVERY_MS + 1000);
    clock.advance(0);
    expect(discovery.verdict('q')).toBe('fail');
    expect(log.decides).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it(`window - starts again while the broker has not confirmed the ping (the servers may not have it yet), ${MAX_DISCOVERY_WINDOWS} windows in all`, () => {
    const { discovery, clock, log } = setup();
    discovery.connected(); // a connect storm: the RECEIPT is slow
    clock.advance(DISCOVERY_MS * (MAX_DISCOVERY_WINDOWS - 1));
    expect(discovery.verdict('q')).toBe('hold');
    expect(log.decides).toBe(0);
    clock.advance(DISCOVERY_MS); // bounded: a RECEIPT that never comes cannot hold calls for ever
    expect(discovery.verdict('q')).toBe('fail');
    expect(log.decides).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('window - once the broker confirmed the ping, lasts until its answers are due: four times its round trip after the RECEIPT', () => {
    const { discovery, clock, log } = setup();
    discovery.connected();
    clock.advance(250);
    discovery.pingReceipt(log.lastPing); // answers due 4 × 250 ms later, at 1250
    clock.advance(1249 - 250);
    expect(discovery.verdict('q')).toBe('hold');
    clock.advance(1);
    expect(discovery.verdict('q')).toBe('fail');
    expect(log.decides).toBe(1);
  });

  it(`window - waiting for the answers to a ping confirmed late still ends within ${MAX_DISCOVERY_WINDOWS} windows`, () => {
    const { discovery, clock, log } = setup();
    discovery.connected();
    clock.advance(2650);
    discovery.pingReceipt(log.lastPing); // four round trips later would be 13,250 ms
    clock.advance(DISCOVERY_MS * MAX_DISCOVERY_WINDOWS - 2650 - 1);
    expect(discovery.verdict('q')).toBe('hold');
    clock.advance(1);
    expect(discovery.verdict('q')).toBe('fail');
    expect(log.decides).toBe(1);
  });

  it('window - a restarted window that ends on time ends discovery', () => {
    const { discovery, clock, log, connect } = setup();
    connect();
    clock.stall(DISCOVERY_MS + 1000);
    clock.advance(0);
    expect(discovery.verdict('q')).toBe('hold');
    clock.advance(DISCOVERY_MS);
    expect(discovery.verdict('q')).toBe('fail');
    expect(log.decides).toBe(1);
  });

  it('window - a timer late by 50 ms or less is on time', () => {
    const { discovery, clock, log, connect } = setup();
    connect();
    clock.stall(DISCOVERY_MS + 50);
    clock.advance(0);
    expect(discovery.verdict('q')).toBe('fail');
    expect(log.decides).toBe(1);
  });

  it(`window - each connection gets its own ${MAX_DISCOVERY_WINDOWS} windows`, () => {
    const { discovery, clock, connect } = setup();
    connect();
    for (let late = 0; late < MAX_DISCOVERY_WINDOWS; late++) {
      clock.stall(DISCOVERY_MS + 1000);
      clock.advance(0);
    }
    expect(discovery.verdict('q')).toBe('fail');
    connect();
    for (let late = 0; late < MAX_DISCOVERY_WINDOWS - 1; late++) {
      clock.stall(DISCOVERY_MS + 1000);
      clock.advance(0);
    }
    expect(discovery.verdict('q')).toBe('hold');
  });

  it(`expiry - a server that stops beating is forgotten after ${MISSED_BEATS} beats`, () => {
    const { discovery, announce, clock, ids, changes } = setup();
    discovery.connected();
    announce(announcement({ id: 'a', beatMs: BEAT_MS }));
    clock.advance(MISSED_BEATS * BEAT_MS);
    expect(ids()).toEqual(['a']);
    changes.length = 0;
    clock.advance(1000); // the next check, once a second
    expect(ids()).toEqual([]);
    expect(changes).toEqual([[]]);
    expect(discovery.verdict('q')).toBe('fail');
    expect(clock.pendingTimers).toBe(0); // no servers, no window: nothing left to check
  });

  it('onServersChange - one that throws stops neither the announcements nor the expiry checks', () => {
    const { discovery, announce, clock, ids } = setup({
      onServersChange: () => {
        throw new Error('a bug in the page');
      },
    });
    discovery.connected();
    announce(announcement({ id: 'a', beatMs: BEAT_MS }));
    announce(announcement({ id: 'b', beatMs: BEAT_MS }));
    for (let beat = 1; beat <= MISSED_BEATS + 2; beat++) {
      clock.advance(BEAT_MS);
      announce(announcement({ kind: 'beat', id: 'b', beatMs: BEAT_MS }));
    }
    expect(ids()).toEqual(['b']); // a expired, through a throwing callback
    clock.advance(MISSED_BEATS * BEAT_MS + 1000);
    expect(ids()).toEqual([]);
  });

  it('expiry - closed from onServersChange as a server expires, it leaves no timer', () => {
    let close = () => {};
    let most = 0;
    const { discovery, announce, clock, link } = setup({
      onServersChange: (servers) => {
        if (servers.length < most) close(); // "a server is gone: stop"
        most = Math.max(most, servers.length);
      },
    });
    close = () => {
      discovery.close();
      link.connected = false; // as the client's connection, closed next
    };
    discovery.connected();
    announce(announcement({ id: 'a', beatMs: BEAT_MS }));
    announce(announcement({ id: 'b', beatMs: BEAT_MS }));
    for (let beat = 1; beat <= MISSED_BEATS + 2; beat++) {
      clock.advance(BEAT_MS);
      announce(announcement({ kind: 'beat', id: 'b', beatMs: BEAT_MS }));
    }
    expect(discovery.servers().map((server) => server.id)).toEqual(['b']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('expiry - a server that keeps beating stays', () => {
    const { discovery, announce, clock, ids } = setup();
    discovery.connected();
    announce(announcement({ id: 'quiet', beatMs: BEAT_MS }));
    announce(announcement({ id: 'lively', beatMs: BEAT_MS }));
    for (let beat = 1; beat <= 10; beat++) {
      clock.advance(BEAT_MS);
      announce(announcement({ kind: 'beat', id: 'lively', beatMs: BEAT_MS }));
    }
    expect(ids()).toEqual(['lively']);
  });

  it('expiry - nothing expires while disconnected; after a reconnect each server gets its beats again', () => {
    const { discovery, announce, clock, ids, link } = setup();
    discovery.connected();
    announce(announcement({ id: 'a', beatMs: BEAT_MS }));
    link.connected = false;
    clock.advance(10_000);
    expect(ids()).toEqual(['a']);
    link.connected = true;
    discovery.connected();
    clock.advance(MISSED_BEATS * BEAT_MS);
    expect(ids()).toEqual(['a']);
    clock.advance(1000);
    expect(ids()).toEqual([]);
  });

  it('expiry - a check that comes late (a stalled event loop) gives servers their beats again', () => {
    const { discovery, announce, clock, ids } = setup();
    discovery.connected();
    announce(announcement({ id: 'a', beatMs: BEAT_MS }));
    clock.stall(10_000);
    clock.advance(0);
    expect(ids()).toEqual(['a']);
    clock.advance(MISSED_BEATS * BEAT_MS);
    expect(ids()).toEqual(['a']);
    clock.advance(1000);
    expect(ids()).toEqual([]);
  });

  it('expiry - a late check after announcements were heard meanwhile (a hidden tab: timers slowed, messages not) drops a server that went silent', () => {
    const { discovery, announce, clock, ids } = setup();
    discovery.connected();
    announce(announcement({ id: 'a', beatMs: BEAT_MS }));
    announce(announcement({ id: 'b', beatMs: BEAT_MS }));
    // A minute with no timer run; b's beats still arrive, a has died.
    for (let second = 0; second < 60; second++) {
      clock.stall(1000);
      announce(announcement({ id: 'b', beatMs: BEAT_MS }));
    }
    clock.advance(0); // the late check
    expect(ids()).toEqual(['b']);
  });

  it('bye - removes the server at once and reports the change', () => {
    const { discovery, announce, clock, ids, changes, connect } = setup();
    connect();
    clock.advance(DISCOVERY_MS);
    announce(announcement({ id: 'a' }));
    announce(announcement({ id: 'b' }));
    expect(discovery.verdict('q')).toBe('send');
    announce(announcement({ kind: 'bye', id: 'a' }));
    expect(ids()).toEqual(['b']);
    expect(changes.at(-1)?.map((server) => server.id)).toEqual(['b']);
    announce(announcement({ kind: 'bye', id: 'b' }));
    expect(ids()).toEqual([]);
    expect(changes.at(-1)).toEqual([]);
    expect(discovery.verdict('q')).toBe('fail');
  });

  it('onServersChange - called with the list for every announcement, never for junk', () => {
    const { discovery, announce, changes } = setup();
    discovery.connected();
    announce(announcement({ kind: 'hello', id: 'b', queue: 'q2' }));
    announce(announcement({ kind: 'pong', id: 'a', queue: 'q1' }));
    announce(announcement({ kind: 'beat', id: 'a', queue: 'q1', inFlight: 3 }));
    announce('not json');
    announce(JSON.stringify({ kind: 'hello', id: 'c', queue: 'q', beatMs: 1 }));
    expect(changes).toHaveLength(3);
    expect(changes[0]?.map((server) => server.id)).toEqual(['b']);
    expect(changes[1]?.map((server) => server.id)).toEqual(['a', 'b']);
    expect(changes[2]?.[0]).toMatchObject({ id: 'a', queue: 'q1', inFlight: 3, host: 'host-a', lastSeen: 0 });
    expect(discovery.servers('q1').map((server) => server.id)).toEqual(['a']);
  });

  it('heard - an announcement by any route counts, with the time it was heard', () => {
    const { discovery, clock } = setup();
    discovery.connected();
    clock.advance(120);
    discovery.heard(announcement({ kind: 'pong', id: 'a' }));
    expect(discovery.servers()).toEqual([expect.objectContaining({ id: 'a', lastSeen: 120 })]);
  });

  it('close - leaves no timer, ignores announcements and connections, decides nothing more', () => {
    const { discovery, announce, clock, log, changes, ids } = setup();
    discovery.connected();
    announce(announcement({ id: 'a' }));
    expect(clock.pendingTimers).toBe(2); // the window and the expiry check
    discovery.close();
    expect(clock.pendingTimers).toBe(0);
    const decidesBefore = log.decides;
    const changesBefore = changes.length;
    announce(announcement({ id: 'b' }));
    discovery.connected();
    clock.advance(60_000);
    expect(ids()).toEqual(['a']);
    expect(log.decides).toBe(decidesBefore);
    expect(changes).toHaveLength(changesBefore);
    expect(log.pings).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });
});
