import { describe, expect, it } from 'vitest';
import { FakeSocket } from '../../test/fake-socket.js';
import { ManualClock } from '../../test/manual-clock.js';
import { type StompMessage, StompSession } from './stomp-session.js';

function session(options: { heartbeatMs?: number; socket?: FakeSocket; connectHeaders?: Record<string, string> } = {}) {
  const clock = new ManualClock();
  const socket = options.socket ?? new FakeSocket();
  const seen: string[] = [];
  const unclaimed: StompMessage[] = [];
  const subject = new StompSession(
    socket,
    {
      connectHeaders: options.connectHeaders ?? { login: 'u', passcode: 'p:w', host: '/' },
      heartbeatMs: options.heartbeatMs ?? 0,
      clock,
    },
    {
      connected: () => seen.push('connected'),
      heard: () => {},
      message: (message) => unclaimed.push(message),
      receipt: (id) => seen.push(`receipt ${id}`),
      error: (summary, detail, cancelled) =>
        seen.push(`error ${summary} | ${detail}${cancelled === undefined ? '' : ` | cancelled ${cancelled}`}`),
      heartbeatLost: () => seen.push('heartbeat lost'),
      socketError: () => seen.push('socket error'),
      closed: (event) => seen.push(`closed ${(event as { code: number }).code}`),
    },
  );
  return { clock, socket, subject, seen, unclaimed };
}

function connected(options: { heartbeatMs?: number; brokerHeartbeat?: string; socket?: FakeSocket } = {}) {
  const parts = session(options);
  parts.socket.open();
  parts.socket.receive(`CONNECTED\nversion:1.2\nheart-beat:${options.brokerHeartbeat ?? '0,0'}\n\n`);
  parts.socket.sent.length = 0;
  return parts;
}

describe('StompSession', () => {
  it('session - sends CONNECT for STOMP 1.2 once the socket opens, a colon in a value left raw', () => {
    const { socket, subject, seen } = session({ heartbeatMs: 10_000 });
    expect(socket.binaryType).toBe('arraybuffer');
    expect(socket.sent).toEqual([]);
    socket.open();
    expect(socket.sent).toEqual([
      'CONNECT\nlogin:u\npasscode:p:w\nhost:/\naccept-version:1.2\nheart-beat:0,10000\n\n\0',
    ]);
    expect(subject.connected).toBe(false);
    socket.receive('CONNECTED\nversion:1.2\n\n');
    expect(subject.connected).toBe(true);
    expect(seen).toEqual(['connected']);
  });

  // Regression: `heartbeatMs: 1500.5` went out as is; the broker answered "Processing error", and
  // every attempt ended UNAVAILABLE, naming nothing of the option.
  it('session - asks for heart-beats in whole milliseconds, rounded up', () => {
    const { socket } = session({ heartbeatMs: 1500.5 });
    socket.open();
    expect(socket.sent[0]).toContain('\nheart-beat:0,1501\n');
  });

  it('session - escapes backslashes and line breaks in CONNECT, as RabbitMQ reads every frame, colons left raw', () => {
    const { socket } = session({ connectHeaders: { login: 'CORP\\alice', passcode: 'C:\\new\r\n', host: '/' } });
    socket.open();
    expect(socket.sent[0]).toContain('\nlogin:CORP\\\\alice\npasscode:C:\\\\new\\r\\n\nhost:/\n');
  });

  it('session - refuses to send before CONNECTED, and after the socket closed', () => {
    const { socket, subject } = session();
    socket.open();
    expect(() => subject.send('SEND', { destination: '/queue/q' }, 'x')).toThrow('not connected');
    socket.receive('CONNECTED\nversion:1.2\n\n');
    subject.send('SEND', { destination: '/queue/q' }, 'x');
    socket.closedByPeer();
    expect(() => subject.send('SEND', { destination: '/queue/q' }, 'x')).toThrow('not connected');
  });

  it('session - a SEND carries content-length only when its body holds a NUL; header values are escaped', () => {
    const { socket, subject } = connected();
    subject.send('SEND', { destination: '/queue/q', 'reply-to': 'a:b\nc' }, 'ünïcode');
    subject.send('SEND', { destination: '/queue/q' }, 'a\0b');
    expect(socket.sent[0]).toBe('SEND\ndestination:/queue/q\nreply-to:a\\cb\\nc\n\nünïcode\0');
    expect(socket.sent[1]).toBe('SEND\ndestination:/queue/q\ncontent-length:3\n\na\0b\0');
  });

  it('session - a received header survives as sent: unescaped in one pass (an escaped backslash before n stays a backslash), untrimmed, the first of a repeat kept', () => {
    const { socket, subject, unclaimed } = connected();
    const path = 'C:\\new\\row\ncol: x ';
    subject.send('SEND', { destination: '/queue/q', path }, '');
    const escaped = /\npath:([^\n]*)/.exec(socket.sent[0] ?? '')?.[1];
    expect(escaped).toBe('C\\c\\\\new\\\\row\\ncol\\c x ');
    socket.receive(`MESSAGE\nsubscription:none\npath:${escaped}\npath:second\nx\\cy:1\n\nbody\0`);
    expect(unclaimed[0]?.headers).toEqual({ subscription: 'none', path, 'x:y': '1' });
    expect(unclaimed[0]?.body).toBe('body');
  });

  it('session - routes a MESSAGE to its subscription, else to `message`; ack and nack name its ack id', () => {
    const { socket, subject, unclaimed } = connected();
    const claimed: StompMessage[] = [];
    let confirmed = false;
    const id = subject.subscribe(
      '/queue/q',
      (message) => claimed.push(message),
      { ack: 'client' },
      () => {
        confirmed = true;
      },
    );
    expect(socket.sent).toEqual([
      `SUBSCRIBE\nack:client\nid:${id}\ndestination:/queue/q\nreceipt:subscribe-${id}\n\n\0`,
    ]);
    socket.receive(`RECEIPT\nreceipt-id:subscribe-${id}\n\n`);
    expect(confirmed).toBe(true);
    socket.receive(`MESSAGE\nsubscription:${id}\nack:T_1\ncorrelation-id:a\\cb\n\nhello`);
    socket.receive('MESSAGE\nsubscription:elsewhere\nack:T_2\n\nreply');
    expect(claimed.map((message) => [message.headers['correlation-id'], message.body, message.byteLength])).toEqual([
      ['a:b', 'hello', 5],
    ]);
    expect(unclaimed.map((message) => message.body)).toEqual(['reply']);
    socket.sent.length = 0;
    claimed[0]?.ack();
    unclaimed[0]?.nack();
    expect(socket.sent).toEqual(['ACK\nid:T_1\n\n\0', 'NACK\nid:T_2\nrequeue:true\n\n\0']);
  });

  it('session - passes on RECEIPTs nobody waits for, and ERROR frames with their body', () => {
    const { socket, seen } = connected();
    seen.length = 0;
    socket.receive('RECEIPT\nreceipt-id:batch-7\n\n');
    socket.receive('ERROR\nmessage:not_found\n\nno queue\n');
    expect(seen).toEqual(['receipt batch-7', 'error not_found | no queue']);
  });

  it('session - an ERROR naming one of its subscriptions ends that subscription; one naming another is plain', () => {
    const { socket, subject, seen, unclaimed } = connected();
    const claimed: string[] = [];
    const id = subject.subscribe(
      '/queue/q',
      (message) => claimed.push(message.body),
      {},
      () => {},
    );
    seen.length = 0;
    socket.receive('ERROR\nmessage:Server cancelled subscription\nsubscription:other\n\n');
    socket.receive(`ERROR\nmessage:Server cancelled subscription\nsubscription:${id}\n\ngone\n`);
    socket.receive(`MESSAGE\nsubscription:${id}\n\nlate`);
    expect(seen).toEqual([
      'error Server cancelled subscription | ',
      `error Server cancelled subscription | gone | cancelled ${id}`,
    ]);
    expect(claimed).toEqual([]);
    expect(unclaimed.map((message) => message.body)).toEqual(['late']);
  });

  it('heart-beats - a broker silent for two of its periods is presumed gone and the socket discarded', () => {
    const { clock, socket, seen } = connected({ heartbeatMs: 10_000, brokerHeartbeat: '10000,0' });
    seen.length = 0;
    for (let beat = 0; beat < 5; beat++) {
      clock.advance(10_000);
      socket.receive('\n');
    }
    expect(seen).toEqual([]);
    clock.advance(30_000); // the check that finds it silent
    expect(seen).toEqual([]);
    clock.advance(1); // and its second look, after what the socket had to read
    expect(seen).toEqual(['heartbeat lost', 'closed 1006']);
    expect(socket.closeCalls).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('heart-beats - a check that comes late (this side stalled) first reads what waited: beats in it keep the connection; none, and it goes', () => {
    const { clock, socket, seen } = connected({ heartbeatMs: 10_000, brokerHeartbeat: '10000,0' });
    seen.length = 0;
    clock.stall(60_000); // the event loop blocked for a minute, the broker's beats unread
    clock.advance(0); // the check, late
    socket.receive('\n'); // then the data that waited
    clock.advance(1); // the check again
    expect(seen).toEqual([]);
    clock.stall(60_000);
    clock.advance(1); // late, and nothing waited this time
    expect(seen).toEqual(['heartbeat lost', 'closed 1006']);
  });

  // Regression: only a check late by more than a period looked again, so a stall of one and a half
  // to two periods dropped a healthy connection, its beats still unread.
  it('heart-beats - a check a little late (a stall of under two periods) also reads what waited before it gives up', () => {
    const { clock, socket, seen } = connected({ heartbeatMs: 10_000, brokerHeartbeat: '5000,0' });
    seen.length = 0;
    clock.advance(6_000);
    socket.receive('\n'); // a beat at 6 s; the check at 10 s finds it, the next is due at 20 s
    clock.advance(4_500);
    clock.stall(19_400); // blocked from 10.5 s to 29.9 s, the broker's beats unread
    clock.advance(0); // the check, 9.9 s late: 23.9 s since the last beat read
    socket.receive('\n'); // then the beats that waited
    clock.advance(1);
    expect(seen).toEqual([]);
  });

  // Regression: a wall clock set back an hour read as a broker heard from in the future, and a
  // dead broker went unnoticed for that hour.
  it('heart-beats - a clock set back (a time sync, a restored VM) does not hide a silent broker: it goes three periods after', () => {
    const { clock, socket, seen } = connected({ heartbeatMs: 10_000, brokerHeartbeat: '10000,0' });
    seen.length = 0;
    clock.advance(10_000);
    socket.receive('\n'); // the last beat
    clock.setWallClock(-3_600_000);
    clock.advance(40_000);
    expect(seen).toEqual([]);
    clock.advance(10_001); // the first check after the step counts from it: 40 s silent by this one
    expect(seen).toEqual(['heartbeat lost', 'closed 1006']);
  });

  it('heart-beats - none watched when either side does not want them', () => {
    expect(connected({ heartbeatMs: 0, brokerHeartbeat: '10000,0' }).clock.pendingTimers).toBe(0);
    expect(connected({ heartbeatMs: 10_000, brokerHeartbeat: '0,0' }).clock.pendingTimers).toBe(0);
  });

  it('heart-beats - a broker period longer than a timer can wait (2^31-1 ms) is taken as none: a real timer would fire at once, a 1 ms loop', () => {
    expect(connected({ heartbeatMs: 10_000, brokerHeartbeat: '3000000000,0' }).clock.pendingTimers).toBe(0);
    expect(connected({ heartbeatMs: 10_000, brokerHeartbeat: '2147483647,0' }).clock.pendingTimers).toBe(1);
  });

  it('disconnect - sends DISCONNECT and closes the socket at its RECEIPT', async () => {
    const { socket, subject, seen, clock } = connected();
    const done = subject.disconnect(2000);
    expect(socket.sent).toEqual(['DISCONNECT\nreceipt:disconnect\n\n\0']);
    socket.receive('RECEIPT\nreceipt-id:disconnect\n\n');
    expect(socket.closeCalls).toBe(1);
    socket.closedByPeer(1000);
    await done;
    expect(seen.at(-1)).toBe('closed 1000');
    expect(clock.pendingTimers).toBe(0);
  });

  it('disconnect - bounded: a broker that never answers has its socket discarded after the grace', async () => {
    const socket = new FakeSocket();
    socket.terminate = () => socket.closedByPeer(1006);
    const { subject, seen, clock } = connected({ socket });
    const done = subject.disconnect(2000);
    clock.advance(2000);
    await done;
    expect(seen.at(-1)).toBe('closed 1006');
  });

  it('discard - without terminate(), reports the close at once and ignores what the socket says after', () => {
    const { socket, subject, seen } = connected();
    seen.length = 0;
    subject.discard();
    expect(seen).toEqual(['closed 1006']);
    expect(socket.closeCalls).toBe(1);
    socket.receive('MESSAGE\nsubscription:x\n\nlate');
    expect(seen).toEqual(['closed 1006']);
    expect(subject.connected).toBe(false);
  });
});
