import { hostname } from 'node:os';
import {
  ASKER_INTERVAL_MS,
  Header,
  MAX_ANNOUNCEMENT_CHARS,
  MAX_PROCEDURES,
  PRESENCE_TOPIC,
  parseAnnouncement,
  type ServerStats,
} from '@stomp-rpc/client/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AnnouncerOptions, PONGS_PER_SECOND, PresenceAnnouncer, STORM_HELLO_MS } from './presence-announcer.js';
import { ServerStatsCounter } from './server-stats.js';
import { SERVER_VERSION } from './version.js';

const REPLY_QUEUE = '/reply-queue/amq.gen-JzTY20BRgKO-HjmUJj0wLg';
/** The reply queue of client `n`, another asker for each n. */
const asker = (n: number) => `/reply-queue/amq.gen-client-${n}`;
const PRESENCE_MS = 1000;

interface Frame {
  destination: string;
  body: string;
  headers: Record<string, string>;
}

/** An announcer around a fake connection that records what it publishes. */
function announcer(options: Partial<AnnouncerOptions> = {}) {
  const sent: Frame[] = [];
  const link = { connected: true, consuming: true, failing: false, inFlight: 0 };
  const counter = new ServerStatsCounter();
  const subject = new PresenceAnnouncer(
    { id: 'server-1', queue: 'rpc_queue', prefetch: 4, presenceMs: PRESENCE_MS, ...options },
    {
      publish: (frame) => {
        if (link.failing) throw new Error('not connected');
        sent.push(frame);
      },
      connected: () => link.connected,
      consuming: () => link.consuming,
      status: () => ({ stats: counter.snapshot(), inFlight: link.inFlight }),
    },
  );
  return { subject, sent, link, counter };
}

function kinds(sent: Frame[]): string[] {
  return sent.map((frame) => parseAnnouncement(frame.body)?.kind ?? 'unparseable');
}

describe('PresenceAnnouncer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('announce - publishes JSON on the presence topic that clients parse, with the counters and requests in hand', () => {
    const { subject, sent, link, counter } = announcer();
    counter.received();
    counter.received();
    counter.answered(12, undefined, '55');
    counter.answered(3, 'INVALID_ARGUMENT', 'n must be a whole number');
    link.inFlight = 1;

    subject.announce('hello');

    expect(sent).toHaveLength(1);
    const [frame] = sent as [Frame];
    expect(frame.destination).toBe(PRESENCE_TOPIC);
    expect(frame.headers).toEqual({ [Header.contentType]: 'application/json' });
    const announcement = parseAnnouncement(frame.body);
    expect(announcement).toMatchObject({
      kind: 'hello',
      id: 'server-1',
      host: hostname(),
      pid: process.pid,
      version: SERVER_VERSION,
      queue: 'rpc_queue',
      prefetch: 4,
      inFlight: 1,
      beatMs: PRESENCE_MS,
    });
    expect(new Date(announcement?.startedAt ?? '').getTime()).toBe(Date.now());
    const { lastError, ...expected }: ServerStats = counter.snapshot();
    expect(announcement?.stats).toEqual({ ...expected, lastError: { ...lastError, message: '' } });
    expect(announcement?.stats).toMatchObject({ requests: 2, succeeded: 1, errors: { INVALID_ARGUMENT: 1 } });
  });

  it("announce - the last error's code and time, not its message: it may hold another caller's input or a handler's secret", () => {
    const { subject, sent, counter } = announcer();
    counter.answered(3, 'INTERNAL', 'connect to postgres://app:hunter2@db failed');
    subject.announce('beat');
    expect(sent[0]?.body).not.toContain('hunter2');
    expect(parseAnnouncement(sent[0]?.body ?? '')?.stats.lastError).toMatchObject({ code: 'INTERNAL', message: '' });
    expect(counter.snapshot().lastError?.message).toContain('hunter2'); // the server's own stats keep it
  });

  it('announce - reads the status afresh for every announcement', () => {
    const { subject, sent, link, counter } = announcer();
    subject.announce('hello');
    link.inFlight = 3;
    counter.received();
    subject.announce('beat');
    const [hello, beat] = sent.map((frame) => parseAnnouncement(frame.body));
    expect(hello?.inFlight).toBe(0);
    expect(hello?.stats.requests).toBe(0);
    expect(beat?.inFlight).toBe(3);
    expect(beat?.stats.requests).toBe(1);
  });

  it('presence off - presenceMs 0 sends nothing: no hello, beat, bye or pong', () => {
    const { subject, sent } = announcer({ presenceMs: 0 });
    expect(subject.enabled).toBe(false);
    subject.start();
    subject.announce('hello');
    vi.advanceTimersByTime(10 * PRESENCE_MS);
    subject.answerPing(REPLY_QUEUE, 0);
    subject.stop();
    expect(sent).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('disconnected - nothing is published, and beats resume once connected again', () => {
    const { subject, sent, link } = announcer();
    link.connected = false;
    subject.announce('hello');
    subject.answerPing(REPLY_QUEUE, 0);
    subject.start();
    vi.advanceTimersByTime(2 * PRESENCE_MS);
    expect(sent).toEqual([]);

    link.connected = true;
    vi.advanceTimersByTime(PRESENCE_MS);
    expect(kinds(sent)).toEqual(['beat']);
    subject.stop();
  });

  // Regression: a server beat from start(), before the broker confirmed its queue subscription,
  // and on every reconnect whose subscription the broker refused: clients counted on a server
  // that consumed nothing.
  it('beat - none while the queue subscription is not confirmed on this connection; a ping is still answered', () => {
    const { subject, sent, link } = announcer();
    link.consuming = false;
    subject.start();
    vi.advanceTimersByTime(3 * PRESENCE_MS);
    expect(sent).toEqual([]);
    subject.answerPing(REPLY_QUEUE, 0);
    expect(kinds(sent)).toEqual(['pong']);
    link.consuming = true;
    vi.advanceTimersByTime(PRESENCE_MS);
    expect(kinds(sent)).toEqual(['pong', 'beat']);
    subject.stop();
  });

  it('beat - every presenceMs after start(), none before the first interval', () => {
    const { subject, sent } = announcer();
    subject.start();
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(PRESENCE_MS - 1);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(kinds(sent)).toEqual(['beat']);
    vi.advanceTimersByTime(2 * PRESENCE_MS);
    expect(kinds(sent)).toEqual(['beat', 'beat', 'beat']);
    expect(sent.every((frame) => frame.destination === PRESENCE_TOPIC)).toBe(true);
    subject.stop();
  });

  it('beat - a second start() does not start a second beat', () => {
    const { subject, sent } = announcer();
    subject.start();
    subject.start();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(PRESENCE_MS);
    expect(kinds(sent)).toEqual(['beat']);
    subject.stop();
  });

  it('stop - says bye at once and beats no more', () => {
    const { subject, sent } = announcer();
    subject.start();
    vi.advanceTimersByTime(PRESENCE_MS);
    subject.stop();
    expect(kinds(sent)).toEqual(['beat', 'bye']);
    expect(sent[1]?.destination).toBe(PRESENCE_TOPIC);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5 * PRESENCE_MS);
    expect(kinds(sent)).toEqual(['beat', 'bye']);
  });

  it.each([
    [REPLY_QUEUE, REPLY_QUEUE],
    ['amq.gen-JzTY20BRgKO-HjmUJj0wLg', REPLY_QUEUE],
  ])('pong - answers a ping from %s on %s, marked rpc-presence: pong', (replyTo, destination) => {
    const { subject, sent } = announcer();
    subject.answerPing(replyTo, 0);
    expect(sent).toHaveLength(1);
    const [frame] = sent as [Frame];
    expect(frame.destination).toBe(destination);
    expect(frame.headers).toEqual({ [Header.contentType]: 'application/json', [Header.presence]: 'pong' });
    expect(parseAnnouncement(frame.body)?.kind).toBe('pong');
  });

  it.each([undefined, '', 'rpc_queue', '/queue/rpc_queue', PRESENCE_TOPIC, '/exchange/amq.fanout'])(
    'pong - ignores a ping whose reply-to %j is not a reply queue',
    (replyTo) => {
      const { subject, sent } = announcer();
      subject.answerPing(replyTo, 0);
      expect(sent).toEqual([]);
    },
  );

  it('pong - answers at most PONGS_PER_SECOND pings in one wall-clock second, then again in the next', () => {
    const { subject, sent } = announcer();
    const second = 1_700_000_000_000;
    for (let ping = 0; ping < PONGS_PER_SECOND + 50; ping++) subject.answerPing(asker(ping), second + (ping % 1000));
    expect(sent).toHaveLength(PONGS_PER_SECOND);
    subject.answerPing(REPLY_QUEUE, second + 999);
    expect(sent).toHaveLength(PONGS_PER_SECOND);

    subject.answerPing(REPLY_QUEUE, second + 1000);
    expect(sent).toHaveLength(PONGS_PER_SECOND + 1);
  });

  it('pong - one answer per asker every ASKER_INTERVAL_MS: a client that floods pings gets one, and does not use up the others’ answers', () => {
    const { subject, sent } = announcer();
    const start = 1_700_000_000_000;
    const flood = ASKER_INTERVAL_MS / 2;
    for (let ping = 0; ping < 5000; ping++) subject.answerPing(REPLY_QUEUE, start + Math.floor((ping * flood) / 5000));
    // 5000 pings within half the interval: one answer; another asker is still answered.
    expect(sent.map((frame) => frame.destination)).toEqual([REPLY_QUEUE]);
    subject.answerPing(asker(1), start + flood);
    expect(sent.map((frame) => frame.destination)).toEqual([REPLY_QUEUE, asker(1)]);
    subject.answerPing(REPLY_QUEUE, start + ASKER_INTERVAL_MS - 1);
    expect(sent).toHaveLength(2);
    // Two pings of one client that the broker delivers closer than a second apart, or a second
    // discoverServers() soon after the first, are both answered.
    subject.answerPing(REPLY_QUEUE, start + ASKER_INTERVAL_MS);
    expect(sent).toHaveLength(3);
  });

  it('storm - pings over the limit get one hello on the presence topic within STORM_HELLO_MS, at most one per period', () => {
    const { subject, sent } = announcer();
    subject.start();
    const second = 1_700_000_000_000;
    for (let ping = 0; ping < PONGS_PER_SECOND + 500; ping++) subject.answerPing(asker(ping), second);
    expect(sent).toHaveLength(PONGS_PER_SECOND);
    vi.advanceTimersByTime(STORM_HELLO_MS);
    expect(sent).toHaveLength(PONGS_PER_SECOND + 1);
    expect(sent.at(-1)?.destination).toBe(PRESENCE_TOPIC);
    expect(kinds(sent.slice(-1))).toEqual(['hello']);
    subject.answerPing(asker(-1), second + 500); // still over the limit: the next period's hello
    subject.answerPing(asker(-2), second + 501);
    vi.advanceTimersByTime(STORM_HELLO_MS);
    expect(kinds(sent.slice(PONGS_PER_SECOND))).toEqual(['hello', 'hello']);
    subject.answerPing(asker(-3), second + 600);
    subject.stop(); // a stop cancels the owed hello: the bye says it all
    vi.advanceTimersByTime(STORM_HELLO_MS);
    expect(kinds(sent.slice(PONGS_PER_SECOND))).toEqual(['hello', 'hello', 'bye']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('pong - the limit is per wall-clock second, not per sliding second', () => {
    const { subject, sent } = announcer();
    const second = 1_700_000_000_000;
    for (let ping = 0; ping < PONGS_PER_SECOND; ping++) subject.answerPing(asker(ping), second + 999);
    subject.answerPing(asker(PONGS_PER_SECOND), second + 1000); // 1 ms later, but a new second
    expect(sent).toHaveLength(PONGS_PER_SECOND + 1);
  });

  it('pong - pings without a reply queue do not use up the second’s answers', () => {
    const { subject, sent } = announcer();
    for (let ping = 0; ping < PONGS_PER_SECOND; ping++) subject.answerPing('/queue/rpc_queue', 0);
    subject.answerPing(REPLY_QUEUE, 0);
    expect(sent).toHaveLength(1);
  });

  it('publish failure - a publish that throws is swallowed and the next one is tried', () => {
    const { subject, sent, link } = announcer();
    link.failing = true;
    subject.start();
    expect(() => subject.announce('hello')).not.toThrow();
    expect(() => subject.answerPing(REPLY_QUEUE, 0)).not.toThrow();
    expect(() => vi.advanceTimersByTime(PRESENCE_MS)).not.toThrow();
    expect(sent).toEqual([]);

    link.failing = false;
    subject.announce('hello');
    expect(kinds(sent)).toEqual(['hello']);
    link.failing = true;
    expect(() => subject.stop()).not.toThrow();
    expect(kinds(sent)).toEqual(['hello']);
  });

  it('many procedures - the announcement stays within what clients read: the busiest 64 procedures, or none when still too long', () => {
    const { subject, sent, counter } = announcer();
    // 200 procedures with long names: all of them would make a body far over the client's limit.
    for (let i = 0; i < 200; i++) {
      const name = `procedure-${String(i).padStart(3, '0')}-${'x'.repeat(40)}`;
      for (let calls = 0; calls <= i % 100; calls++) {
        counter.received();
        counter.answered(1, undefined, 'ok', name);
      }
    }
    subject.announce('beat');
    const body = (sent[0] as Frame).body;
    expect(body.length).toBeLessThanOrEqual(MAX_ANNOUNCEMENT_CHARS);
    const heard = parseAnnouncement(body);
    expect(heard?.stats.requests).toBe(10_100); // the server is seen, with its totals: 2 × (1 + 2 + … + 100)
    const procedures = Object.entries(heard?.stats.procedures ?? {});
    expect(procedures).toHaveLength(MAX_PROCEDURES);
    // The busiest: 100 requests for procedures 99 and 199, 99 for 98 and 198, and so on down to 69.
    expect(Math.min(...procedures.map(([, stats]) => stats.requests))).toBe(69);

    // Names so long that even 64 of them are too long: the procedures are left out, not the server.
    const { subject: other, sent: otherSent, counter: otherCounter } = announcer();
    for (let i = 0; i < 64; i++) {
      otherCounter.received();
      otherCounter.answered(1, undefined, 'ok', `${i}-${'y'.repeat(300)}`);
    }
    other.announce('beat');
    const bare = parseAnnouncement((otherSent[0] as Frame).body);
    expect(bare?.stats.requests).toBe(64);
    expect(bare?.stats.procedures).toBeUndefined();
  });

  it('stop - nothing is announced after the bye, not even the hello of a subscription the broker confirms late', () => {
    const { subject, sent } = announcer();
    subject.start();
    subject.stop();
    subject.announce('hello');
    subject.answerPing(REPLY_QUEUE);
    vi.advanceTimersByTime(10 * PRESENCE_MS);
    expect(kinds(sent)).toEqual(['bye']);
  });
});
