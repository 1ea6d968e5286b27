import { describe, expect, it } from 'vitest';
import { MISSED_BEATS, parseAnnouncement, type ServerAnnouncement } from '../protocol/presence.js';
import { BYE_HOLDS_MS, MAX_KNOWN_SERVERS, PresenceView } from './presence-view.js';

function announcement(overrides: Partial<ServerAnnouncement> = {}): ServerAnnouncement {
  const parsed = parseAnnouncement(
    JSON.stringify({ kind: 'beat', id: 'a1', host: 'h', pid: 7, version: '1.0.0', queue: 'q', beatMs: 1000 }),
  );
  if (parsed === undefined) throw new Error('the sample announcement does not parse');
  return { ...parsed, ...overrides };
}

describe('presence', () => {
  it('parse - reads an announcement and fills absent counters with zeros', () => {
    const parsed = announcement();
    expect(parsed).toMatchObject({ kind: 'beat', id: 'a1', queue: 'q', beatMs: 1000, inFlight: 0 });
    expect(parsed.stats).toMatchObject({ requests: 0, errors: {}, processingMs: { total: 0, average: 0 } });
  });

  it('parse - rejects junk: not JSON, unknown kind, no id or queue, silly beat, oversized', () => {
    const valid = { kind: 'hello', id: 'a', queue: 'q', beatMs: 1000 };
    for (const body of [
      'not json',
      'null',
      '42',
      JSON.stringify({ ...valid, kind: 'shout' }),
      JSON.stringify({ ...valid, id: '' }),
      JSON.stringify({ ...valid, queue: 7 }),
      JSON.stringify({ ...valid, beatMs: 0 }),
      JSON.stringify({ ...valid, beatMs: 'often' }),
      JSON.stringify({ ...valid, beatMs: 1e308 }), // would never expire
      JSON.stringify({ ...valid, id: 'ok\u001b[2J\nFAKE' }), // terminal escapes, a line break
      JSON.stringify({ ...valid, host: 'x'.repeat(20_000) }),
    ]) {
      expect(parseAnnouncement(body), body.slice(0, 60)).toBeUndefined();
    }
  });

  it('parse - hostile or malformed fields become defaults: what a client shows is text and finite counts', () => {
    // As JSON text: in an object literal `__proto__` would set the prototype instead of naming a key.
    const parsed = parseAnnouncement(`{
      "kind": "beat", "id": "a", "queue": "q", "beatMs": 1000, "host": "evil\\u001b[31m",
      "stats": {
        "processingMs": 5,
        "latency": {},
        "errors": { "TIMEOUT": 2, "INTERNAL": "9", "NOT_A_CODE": 1, "__proto__": 3 },
        "lastError": { "code": "nope", "message": 7 },
        "procedures": { "__proto__": { "requests": 1 }, "fib": { "requests": "x", "errors": { "INTERNAL": 1, "A": 2 } } }
      }
    }`);
    expect(parsed?.host).toBe('?');
    expect(parsed?.stats).toMatchObject({ processingMs: { total: 0, average: 0 }, latency: { count: 0, p99Ms: 0 } });
    expect(parsed?.stats.errors).toEqual({ TIMEOUT: 2, INTERNAL: 1 }); // NOT_A_CODE: a newer server's, as a reply reads it
    expect(parsed?.stats.lastError).toBeUndefined();
    const procedures = parsed?.stats.procedures ?? {};
    expect(Object.keys(procedures).sort()).toEqual(['__proto__', 'fib']); // a name, not the prototype
    expect(procedures.fib).toEqual({
      requests: 0,
      succeeded: 0,
      errors: { INTERNAL: 3 },
      cancelled: 0,
      processingMs: 0,
    });
  });

  // Regression: a newer server's error codes were dropped, and its errors vanished from the counts.
  it('parse - error codes this client does not know count as INTERNAL, as a reply with one reads', () => {
    const parsed = parseAnnouncement(
      JSON.stringify({
        kind: 'beat',
        id: 'a',
        queue: 'q',
        beatMs: 1000,
        stats: {
          errors: { INTERNAL: 1, RESOURCE_EXHAUSTED: 2, 'not a code': 5 },
          lastError: { code: 'RESOURCE_EXHAUSTED', message: '', at: '2026-12-06T03:00:00.000Z' },
        },
      }),
    );
    expect(parsed?.stats.errors).toEqual({ INTERNAL: 3 });
    // Summed, they stay a finite count, as every count read is.
    const huge = parseAnnouncement(
      JSON.stringify({
        kind: 'beat',
        id: 'a',
        queue: 'q',
        beatMs: 1000,
        stats: { errors: { X_A: 1e308, X_B: 1e308 } },
      }),
    );
    expect(huge?.stats.errors).toEqual({ INTERNAL: Number.MAX_VALUE });
    expect(parsed?.stats.lastError).toEqual({
      code: 'INTERNAL',
      message: 'RESOURCE_EXHAUSTED',
      at: '2026-12-06T03:00:00.000Z',
    });
  });

  it('view - a server joins, updates, and leaves on bye', () => {
    const view = new PresenceView();
    expect(view.apply(announcement({ kind: 'hello' }), 0)).toBe('joined');
    expect(view.apply(announcement({ inFlight: 3 }), 10)).toBe('updated');
    expect(view.list('q')).toEqual([expect.objectContaining({ id: 'a1', inFlight: 3, lastSeen: 10 })]);
    expect(view.hasServerFor('q')).toBe(true);
    expect(view.hasServerFor('other')).toBe(false);
    expect(view.apply(announcement({ kind: 'bye' }), 20)).toBe('left');
    expect(view.size).toBe(0);
    expect(view.apply(announcement({ kind: 'bye', id: 'never-seen' }), 20)).toBe('ignored'); // no change to report
  });

  it('view - a reply moves lastSeen, not announcedAt (what the counters are as of); list() hands out copies that stay as they were', () => {
    const view = new PresenceView();
    view.apply(announcement({ kind: 'hello', inFlight: 2 }), 100);
    const before = view.list();
    view.seen('a1', 250);
    expect(view.list()).toEqual([expect.objectContaining({ id: 'a1', lastSeen: 250, announcedAt: 100, inFlight: 2 })]);
    expect(before).toEqual([expect.objectContaining({ lastSeen: 100, announcedAt: 100 })]);
    for (const server of before) server.inFlight = 99; // the application's copy: the view is not changed through it
    view.resume(400); // a reconnect restarts the clocks of expiry, not of the counters
    expect(view.list()).toEqual([expect.objectContaining({ lastSeen: 400, announcedAt: 100, inFlight: 2 })]);
    view.apply(announcement({ inFlight: 5 }), 500);
    expect(view.list()).toEqual([expect.objectContaining({ lastSeen: 500, announcedAt: 500, inFlight: 5 })]);
  });

  it('view - an answer to a ping delivered after its server’s bye (another queue) does not bring it back; a hello does', () => {
    const view = new PresenceView();
    view.apply(announcement({ kind: 'hello' }), 0);
    view.apply(announcement({ kind: 'bye' }), 10);
    expect(view.apply(announcement({ kind: 'pong' }), 20)).toBe('ignored');
    expect(view.size).toBe(0);
    expect(view.apply(announcement({ kind: 'pong' }), 10 + BYE_HOLDS_MS + 1)).toBe('joined'); // long after: a real answer
    view.apply(announcement({ kind: 'bye' }), 10_000);
    expect(view.apply(announcement({ kind: 'hello' }), 10_001)).toBe('joined'); // started again
    expect(view.apply(announcement({ kind: 'pong' }), 10_002)).toBe('updated');
  });

  it(`view - a server silent for more than ${MISSED_BEATS} beats expires, one that beats stays`, () => {
    const view = new PresenceView();
    view.apply(announcement({ id: 'quiet' }), 0);
    view.apply(announcement({ id: 'lively' }), 0);
    view.apply(announcement({ id: 'lively' }), 2500);
    expect(view.expire(MISSED_BEATS * 1000)).toBe(0); // exactly three beats: not yet
    expect(view.expire(MISSED_BEATS * 1000 + 1)).toBe(1);
    expect(view.list().map((server) => server.id)).toEqual(['lively']);
  });

  // Regression: a clock set back an hour kept a server that had stopped beating for that hour.
  it('view - after the clock was set back (a time sync, a restored VM), a silent server expires three beats after the step', () => {
    const view = new PresenceView();
    view.apply(announcement({ id: 'gone' }), 3_600_000);
    expect(view.expire(1000)).toBe(0); // the clock now reads an hour earlier
    expect(view.expire(1000 + MISSED_BEATS * 1000)).toBe(0);
    expect(view.expire(1000 + MISSED_BEATS * 1000 + 1)).toBe(1);
  });

  it('view - seen() (a reply from the server) counts as a beat; an unknown id changes nothing', () => {
    const view = new PresenceView();
    view.apply(announcement(), 0);
    view.seen('a1', 5000);
    view.seen('stranger', 5000);
    expect(view.size).toBe(1);
    expect(view.expire(5000 + MISSED_BEATS * 1000)).toBe(0);
    expect(view.expire(5000 + MISSED_BEATS * 1000 + 1)).toBe(1);
  });

  it('view - lists servers of one queue, or all, ordered by id', () => {
    const view = new PresenceView();
    view.apply(announcement({ id: 'b', queue: 'q1' }), 0);
    view.apply(announcement({ id: 'a', queue: 'q2' }), 0);
    view.apply(announcement({ id: 'c', queue: 'q1' }), 0);
    expect(view.list('q1').map((server) => server.id)).toEqual(['b', 'c']);
    expect(view.list().map((server) => server.id)).toEqual(['a', 'b', 'c']);
  });

  it(`view - holds at most ${MAX_KNOWN_SERVERS} servers: a new one is ignored while that many are known, and fits once one expired`, () => {
    const view = new PresenceView();
    for (let i = 0; i < MAX_KNOWN_SERVERS; i++) {
      expect(view.apply(announcement({ id: `s${i}`, beatMs: i === 0 ? 1000 : 60_000 }), 0)).toBe('joined');
    }
    expect(view.apply(announcement({ id: 'late' }), 1000)).toBe('ignored');
    expect(view.size).toBe(MAX_KNOWN_SERVERS);
    expect(view.list().some((server) => server.id === 'late')).toBe(false);
    expect(view.apply(announcement({ id: 's1' }), 1000)).toBe('updated'); // known ones still beat
    // Room comes from the owner's expiry check (which knows when its timers ran late), not from apply().
    expect(view.apply(announcement({ id: 'late' }), MISSED_BEATS * 1000 + 1)).toBe('ignored');
    expect(view.expire(MISSED_BEATS * 1000 + 1)).toBe(1); // s0 beats every second and missed three
    expect(view.apply(announcement({ id: 'late' }), MISSED_BEATS * 1000 + 1)).toBe('joined');
    expect(view.list().some((server) => server.id === 's0')).toBe(false);
  });
});

describe('presence after a reconnect', () => {
  it('view - resume() gives every known server a fresh set of beats', () => {
    const view = new PresenceView();
    view.apply(announcement(), 0);
    view.resume(10_000); // the client was disconnected for 10 s
    expect(view.expire(10_000 + MISSED_BEATS * 1000)).toBe(0);
    expect(view.expire(10_000 + MISSED_BEATS * 1000 + 1)).toBe(1);
  });
});
