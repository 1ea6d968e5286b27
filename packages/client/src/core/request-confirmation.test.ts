import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../test/manual-clock.js';
import { RpcError } from '../errors.js';
import { type Delivery, newDelivery } from './pending-calls.js';
import {
  type DeadlineContext,
  deadlineError,
  RequestConfirmation,
  UNSAMPLED_PATIENCE_MS,
} from './request-confirmation.js';

const HANDLED_UNCONFIRMED = 'the broker handled requests but confirmed none for 4000 ms';

interface TestCall {
  readonly name: string;
  readonly delivery: Delivery;
  readonly request: { readonly idempotent: boolean; readonly destination: string; readonly queue: string | undefined };
  readonly timeoutMs: number;
  readonly deadline: number;
}

function makeCall(name: string, idempotent: boolean, confirmWaitMs = 1000): TestCall {
  return {
    name,
    delivery: newDelivery(confirmWaitMs),
    request: { idempotent, destination: '/queue/q', queue: 'q' },
    timeoutMs: 5000,
    deadline: Number.POSITIVE_INFINITY,
  };
}

/** A RequestConfirmation whose pending calls, connection and events the test holds, as the facade does. */
function setup(resendUnconfirmedMs = 1000) {
  const clock = new ManualClock();
  const pending: TestCall[] = [];
  const resent: string[] = [];
  const stuck: string[] = [];
  const refused: string[] = [];
  const probes: string[] = [];
  const link = { connected: true };
  const confirmation: RequestConfirmation<TestCall> = new RequestConfirmation<TestCall>(clock, resendUnconfirmedMs, {
    pending: () => pending,
    connected: () => link.connected,
    resend: (call) => {
      resent.push(call.name);
      confirmation.sent(call.delivery);
    },
    probe: (receiptId) => {
      if (!link.connected) return false;
      probes.push(receiptId);
      return true;
    },
    stuck: (why) => stuck.push(why),
    refused: (call) => refused.push(call.name),
  });
  confirmation.connected();
  /** Registers and sends a call now, as the facade does. */
  const send = (call: TestCall) => {
    pending.push(call);
    return confirmation.sent(call.delivery);
  };
  /** Sends a call and has the broker confirm it `receiptMs` later; it then leaves the pending list. */
  const sample = (receiptMs: number) => {
    const call = makeCall('sampled', true);
    confirmation.sent(call.delivery);
    clock.advance(receiptMs);
    confirmation.receipt(call.delivery);
  };
  /** The broker answers the latest probe. */
  const answerProbe = () => confirmation.probeReceipt(probes.at(-1) as string);
  return { clock, pending, resent, stuck, refused, probes, link, confirmation, send, sample, answerProbe };
}

describe('RequestConfirmation', () => {
  it('wait - the first wait is resendUnconfirmedMs', () => {
    expect(setup(1000).confirmation.resendWaitMs()).toBe(1000);
    expect(setup(40).confirmation.resendWaitMs()).toBe(40);
  });

  it('wait - follows the smoothed receipt time plus four variations (RFC 6298)', () => {
    const { confirmation, sample } = setup(100);
    sample(400); // first sample: smoothed 400, variation 200
    expect(confirmation.resendWaitMs()).toBe(400 + 4 * 200);
    sample(200); // smoothed 7/8*400 + 1/8*200 = 375; variation 3/4*200 + 1/4*|400-200| = 200
    expect(confirmation.resendWaitMs()).toBe(375 + 4 * 200);
    sample(375); // smoothed 375; variation 3/4*200 + 0 = 150
    expect(confirmation.resendWaitMs()).toBe(375 + 4 * 150);
  });

  it('wait - never falls below resendUnconfirmedMs however fast the receipts', () => {
    const { confirmation, sample } = setup(1000);
    for (let i = 0; i < 10; i++) sample(3);
    expect(confirmation.resendWaitMs()).toBe(1000);
  });

  it("wait - a re-sent request's receipt is not sampled (Karn's rule)", () => {
    const { confirmation, sample, clock } = setup(100);
    sample(400);
    expect(confirmation.resendWaitMs()).toBe(1200);
    const twice = makeCall('twice', true);
    confirmation.sent(twice.delivery);
    clock.advance(1000);
    expect(confirmation.sent(twice.delivery)).toBe(true); // a re-send
    clock.advance(5000);
    confirmation.receipt(twice.delivery);
    expect(twice.delivery.confirmed).toBe(true);
    expect(confirmation.resendWaitMs()).toBe(1200);
  });

  it('wait - a duplicate receipt for the same send is sampled once', () => {
    const { confirmation, clock } = setup(100);
    const call = makeCall('c', true);
    confirmation.sent(call.delivery);
    clock.advance(400);
    confirmation.receipt(call.delivery);
    clock.advance(5000);
    confirmation.receipt(call.delivery);
    expect(confirmation.resendWaitMs()).toBe(1200);
  });

  it('sent - tells a first send from a re-send and keeps when the request went unconfirmed', () => {
    const { confirmation, clock } = setup();
    const call = makeCall('c', true);
    clock.advance(100);
    expect(confirmation.sent(call.delivery)).toBe(false);
    clock.advance(100);
    expect(confirmation.sent(call.delivery)).toBe(true);
    expect(call.delivery).toMatchObject({
      sent: true,
      confirmed: false,
      sends: 2,
      lastSentAt: 200,
      unconfirmedSince: 100,
    });
  });

  it('resend - an unconfirmed request the broker may not have reached yet is not sent again: a probe asks first', () => {
    const { send, clock, resent, probes } = setup(1000);
    send(makeCall('idempotent', true));
    clock.advance(999);
    expect(probes).toEqual([]);
    clock.advance(1);
    expect(probes).toEqual(['probe-1']);
    clock.advance(10_000);
    expect(resent).toEqual([]);
    expect(probes).toEqual(['probe-1']); // one at a time
  });

  it('resend - once the probe shows the broker handled it, an idempotent request still unconfirmed goes again one wait later, doubling its wait', () => {
    const { send, clock, resent, probes, answerProbe } = setup(1000);
    const call = makeCall('idempotent', true);
    send(call);
    clock.advance(1000);
    answerProbe();
    clock.advance(1249); // handled as of the next sweep (1250), re-sent one wait after
    expect(resent).toEqual([]);
    clock.advance(1);
    expect(resent).toEqual(['idempotent']);
    expect(call.delivery).toMatchObject({ sends: 2, lastSentAt: 2250, confirmWaitMs: 2000 });
    // The re-send is a new write: the broker must be seen to handle it again.
    clock.advance(2000);
    expect(probes).toEqual(['probe-1', 'probe-2']);
    answerProbe();
    clock.advance(1250);
    expect(resent).toEqual(['idempotent', 'idempotent']);
    expect(call.delivery.confirmWaitMs).toBe(4000);
  });

  // Regression: a copy went out a few ms before the deadline, and the server refused it with
  // DEADLINE_EXCEEDED, which reached the caller before its own timer said why no reply had come.
  it.each([
    ['no receipt yet: the first wait, 1000 ms', 0, ['idempotent']],
    ['receipts in 250 ms', 250, ['idempotent', 'idempotent']],
  ])(
    'resend - not with less time left than the broker takes to accept a request (%s)',
    (_name, receiptMs, expected) => {
      const { send, clock, resent, answerProbe, sample, confirmation } = setup(1000);
      if (receiptMs > 0) sample(receiptMs); // the wait stays 1000 ms
      const call = { ...makeCall('idempotent', true), deadline: clock.now() + 6000 };
      send(call);
      clock.advance(1000);
      answerProbe();
      clock.advance(1250);
      expect(resent).toEqual(['idempotent']); // 3750 ms left
      clock.advance(1999);
      confirmation.replied(makeCall('other', true).delivery); // the broker serves this connection: not stuck
      clock.advance(1);
      answerProbe();
      clock.advance(1250); // 500 ms left
      expect(resent).toEqual(expected);
    },
  );

  it('resend - a probe unanswered for two waits while replies still come does not hold a re-send back', () => {
    const { send, clock, resent, probes, confirmation } = setup(1000);
    send(makeCall('idempotent', true));
    clock.advance(1000);
    expect(probes).toEqual(['probe-1']);
    clock.advance(500);
    confirmation.replied(makeCall('other', true).delivery); // another call's reply: the broker is serving this connection
    clock.advance(1499);
    expect(resent).toEqual([]);
    clock.advance(1); // two waits after the probe: taken as handled
    clock.advance(1000);
    expect(resent).toEqual(['idempotent']);
  });

  it('resend - a RECEIPT for a later request shows the broker handled the earlier one; only idempotent, sent, unconfirmed requests go again', () => {
    const { send, pending, confirmation, clock, resent, probes } = setup(1000);
    const waiting = makeCall('idempotent unconfirmed', true);
    const once = makeCall('not idempotent', false);
    const unsent = makeCall('idempotent unsent', true);
    const confirmed = makeCall('idempotent confirmed', true);
    send(waiting);
    send(once);
    pending.push(unsent);
    send(confirmed);
    confirmation.receipt(confirmed.delivery);
    clock.advance(1249);
    expect(resent).toEqual([]);
    clock.advance(1);
    expect(resent).toEqual(['idempotent unconfirmed']);
    expect(probes).toEqual([]);
    confirmation.receipt(waiting.delivery);
    clock.advance(20_000);
    expect(resent).toEqual(['idempotent unconfirmed']);
    expect(once.delivery.sends).toBe(1);
    expect(confirmed.delivery.sends).toBe(1);
    expect(unsent.delivery.sends).toBe(0);
  });

  it('sweep - never re-sends a request that is not idempotent', () => {
    const { send, clock, resent, answerProbe } = setup(1000);
    const once = makeCall('not idempotent', false);
    send(once);
    clock.advance(1000);
    answerProbe();
    clock.advance(60_000);
    expect(resent).toEqual([]);
    expect(once.delivery.sends).toBe(1);
  });

  it('sweep - re-sends nothing while disconnected', () => {
    const { send, clock, resent, link, stuck, probes } = setup(1000);
    send(makeCall('idempotent', true));
    link.connected = false;
    clock.advance(10_000);
    expect(resent).toEqual([]);
    expect(probes).toEqual([]);
    expect(stuck).toEqual([]);
  });

  it('stuck - reported when the broker handled a request but confirmed nothing for four waits after', () => {
    const { send, clock, stuck, link, answerProbe } = setup(1000);
    send(makeCall('not idempotent', false));
    clock.advance(1000);
    answerProbe(); // handled as of the sweep at 1250
    clock.advance(4249);
    expect(stuck).toEqual([]);
    clock.advance(1);
    expect(stuck).toEqual([HANDLED_UNCONFIRMED]);
    link.connected = false; // the facade drops the connection: no more reports meanwhile
    clock.advance(10_000);
    expect(stuck).toEqual([HANDLED_UNCONFIRMED]);
  });

  // Regression: each copy restarted the count, so a connection that could not publish to the queue
  // (RabbitMQ 3.10 after a quorum queue's leader died) was replaced after ~27 s instead of ~5 s.
  it('stuck - an idempotent request sent again meanwhile counts from when the broker first handled it, not its latest copy', () => {
    const { send, clock, stuck, resent, answerProbe } = setup(1000);
    send(makeCall('idempotent', true));
    clock.advance(1000);
    answerProbe(); // handled as of the sweep at 1250
    clock.advance(1250);
    expect(resent).toEqual(['idempotent']);
    clock.advance(2000);
    answerProbe(); // the copy is handled too, as of 4500
    clock.advance(999);
    expect(stuck).toEqual([]);
    clock.advance(1); // four waits after the first handling
    expect(stuck).toEqual([HANDLED_UNCONFIRMED]);
  });

  it('stuck - a request whose earlier copy the broker handled is not reported as never reached while its latest copy waits', () => {
    const { send, clock, stuck, resent, answerProbe, sample } = setup(1000);
    sample(10); // a client that knows its receipt times: requests never reached count four waits too
    send(makeCall('idempotent', true));
    clock.advance(1240);
    answerProbe(); // handled as of the sweep at 1500
    clock.advance(1250);
    expect(resent).toEqual(['idempotent']); // at 2500; this copy's probe (4500) goes unanswered
    clock.advance(1999);
    expect(stuck).toEqual([]); // four waits after the first send, but the broker did handle it
    clock.advance(1001); // four waits after the first handling
    expect(stuck).toEqual([HANDLED_UNCONFIRMED]);
  });

  it('stuck - a request sent again after a reconnect counts from its handling on the new connection, not the old one', () => {
    const { send, clock, stuck, answerProbe, confirmation } = setup(1000);
    const call = makeCall('idempotent', true);
    send(call);
    clock.advance(1000);
    answerProbe(); // handled as of the sweep at 1250
    clock.advance(500);
    call.delivery.sent = false; // the connection dropped (PendingCalls.connectionLost)
    confirmation.connected();
    confirmation.sent(call.delivery); // sent again at 1500, never reached: a busy broker
    clock.advance(UNSAMPLED_PATIENCE_MS - 1);
    expect(stuck).toEqual([]);
    clock.advance(250);
    expect(stuck).toEqual([`the broker handled none of the requests sent ${UNSAMPLED_PATIENCE_MS} ms ago`]);
  });

  it('stuck - requests the broker has not reached (the probe unanswered) for four waits, on a client that knows its receipt times', () => {
    const { send, clock, stuck, probes, sample } = setup(1000);
    sample(10); // this broker confirms in 10 ms; the sweep runs every 250 ms from 0
    send(makeCall('not idempotent', false));
    clock.advance(4239);
    expect(probes).toEqual(['probe-1']);
    expect(stuck).toEqual([]);
    clock.advance(1);
    expect(stuck).toEqual(['the broker handled none of the requests sent 4000 ms ago']);
  });

  it('stuck - a client that never had a RECEIPT waits UNSAMPLED_PATIENCE_MS for a busy broker to reach its requests', () => {
    const { send, clock, stuck, probes } = setup(1000);
    send(makeCall('not idempotent', false));
    clock.advance(UNSAMPLED_PATIENCE_MS - 1);
    expect(stuck).toEqual([]);
    expect(probes).toEqual(['probe-1']);
    clock.advance(1);
    expect(stuck).toEqual([`the broker handled none of the requests sent ${UNSAMPLED_PATIENCE_MS} ms ago`]);
  });

  it('stuck - not while a request the broker confirmed still waits for its reply: a full queue looks the same, and remaking the connection would lose that reply', () => {
    const { send, pending, clock, stuck, refused, confirmation, answerProbe } = setup(1000);
    const accepted = makeCall('accepted', false);
    send(accepted);
    confirmation.receipt(accepted.delivery); // in the queue, its server slow
    send(makeCall('refused', false)); // the queue is full now
    clock.advance(1000);
    answerProbe();
    clock.advance(10_000);
    expect(stuck).toEqual([]);
    expect(refused).toEqual([]);
    pending.splice(pending.indexOf(accepted), 1); // answered, or its deadline passed
    clock.advance(250);
    expect(refused).toEqual(['refused']);
    expect(stuck).toEqual([HANDLED_UNCONFIRMED]);
  });

  it('refused - before the drop, the requests handled and unconfirmed for four waits that will not go again are reported, not those that will or were handled since', () => {
    const { send, clock, stuck, refused, answerProbe, probes, confirmation } = setup(1000);
    send(makeCall('not idempotent', false));
    send(makeCall('idempotent', true));
    clock.advance(1000);
    answerProbe(); // the broker handled both, as of the sweep at 1250
    clock.advance(2000);
    send(makeCall('recent', false)); // its RECEIPT may still come when the connection is dropped
    clock.advance(1000);
    confirmation.probeReceipt(probes.at(-1) as string); // handled too, as of the next sweep
    clock.advance(1249);
    expect(refused).toEqual([]);
    clock.advance(1);
    expect(stuck).toEqual([HANDLED_UNCONFIRMED]);
    expect(refused).toEqual(['not idempotent']);
  });

  it('replied - a reply confirms its request: a stream whose items arrive is not sent again', () => {
    const { send, clock, resent, confirmation, answerProbe } = setup(1000);
    const stream = makeCall('stream', true);
    send(stream);
    clock.advance(1000);
    answerProbe(); // handled; its batch's RECEIPT never came (a refused request shared the batch)
    confirmation.replied(stream.delivery); // its first item
    clock.advance(10_000);
    expect(resent).toEqual([]);
  });

  it('stuck - a receipt for any request shows the connection still works', () => {
    const { send, pending, clock, stuck, confirmation, answerProbe } = setup(1000);
    send(makeCall('unconfirmed', false));
    clock.advance(1000);
    answerProbe();
    const other = makeCall('other', false);
    clock.advance(2000);
    send(other);
    confirmation.receipt(other.delivery);
    pending.splice(pending.indexOf(other), 1); // and answered
    clock.advance(3999);
    expect(stuck).toEqual([]);
    clock.advance(1);
    expect(stuck).toEqual([HANDLED_UNCONFIRMED]);
  });

  it('stuck - a reply shows the connection still works while its receipts lag', () => {
    const { send, clock, stuck, confirmation, answerProbe } = setup(1000);
    send(makeCall('unconfirmed', false));
    clock.advance(1000);
    answerProbe();
    clock.advance(2000);
    confirmation.replied(makeCall('other', true).delivery);
    clock.advance(3999);
    expect(stuck).toEqual([]);
    clock.advance(1);
    expect(stuck).toEqual([HANDLED_UNCONFIRMED]);
  });

  it('stuck - a receipt for a call no longer waiting still counts', () => {
    const { send, clock, stuck, confirmation, answerProbe } = setup(1000);
    send(makeCall('unconfirmed', false));
    clock.advance(1000);
    answerProbe();
    clock.advance(2000);
    confirmation.receipt(undefined);
    clock.advance(3999);
    expect(stuck).toEqual([]);
    clock.advance(1);
    expect(stuck).toEqual([HANDLED_UNCONFIRMED]);
  });

  it('stuck - not reported when every request is confirmed', () => {
    const { send, clock, stuck, confirmation, probes } = setup(1000);
    const call = makeCall('confirmed', false);
    send(call);
    confirmation.receipt(call.delivery);
    clock.advance(60_000);
    expect(stuck).toEqual([]);
    expect(probes).toEqual([]);
  });

  it('probe - its RECEIPT is not progress, and one from before a reconnect is ignored', () => {
    const { send, clock, stuck, probes, confirmation } = setup(1000);
    expect(confirmation.isProbe('probe-7')).toBe(true);
    expect(confirmation.isProbe('a1b2.0')).toBe(false);
    const call = makeCall('not idempotent', false);
    send(call);
    clock.advance(1000);
    confirmation.connected(); // a new connection; the facade sends the call again
    confirmation.sent(call.delivery);
    confirmation.probeReceipt('probe-1');
    clock.advance(1000);
    expect(probes).toEqual(['probe-1', 'probe-2']); // probe-1 proved nothing about this connection
    confirmation.probeReceipt('probe-2');
    clock.advance(4249);
    expect(stuck).toEqual([]);
    clock.advance(1);
    expect(stuck).toEqual([HANDLED_UNCONFIRMED]);
  });

  it('sweep - stops when nothing is pending, and the next send starts it again', () => {
    const { send, pending, clock, confirmation } = setup(1000);
    send(makeCall('c', true));
    expect(clock.pendingTimers).toBe(1);
    pending.length = 0; // the call got its reply
    clock.advance(1000);
    expect(clock.pendingTimers).toBe(0);
    send(makeCall('d', true));
    expect(clock.pendingTimers).toBe(1);
    confirmation.stop();
    expect(clock.pendingTimers).toBe(0);
  });

  it('sweep - one timer however many requests are sent', () => {
    const { send, clock } = setup(1000);
    for (let i = 0; i < 5; i++) send(makeCall(`c${i}`, true));
    expect(clock.pendingTimers).toBe(1);
  });

  it('disabled - resendUnconfirmedMs 0 sets no timer, re-sends nothing and reports nothing', () => {
    const { send, clock, resent, stuck } = setup(0);
    send(makeCall('idempotent', true));
    send(makeCall('not idempotent', false));
    expect(clock.pendingTimers).toBe(0);
    clock.advance(60_000);
    expect(resent).toEqual([]);
    expect(stuck).toEqual([]);
  });
});

describe('deadlineError', () => {
  const trouble = new RpcError('CONNECTION_LOST', 'socket closed (1006)');
  const callWith = (delivery: Partial<Delivery>) => {
    const call = makeCall('c', true);
    Object.assign(call.delivery, delivery);
    return call;
  };
  type Case = [
    name: string,
    delivery: Partial<Delivery>,
    connection: DeadlineContext,
    code: 'OVERLOADED' | 'TIMEOUT' | 'NO_SERVERS',
    cause: RpcError | undefined,
  ];
  // Unconfirmed since 0, at 0 with no wait: time enough to be confirmed, unless a case says otherwise.
  const live = { confirmRequests: true, connected: true, unanswered: false, now: 0, confirmWaitMs: 0 };
  const down = { ...live, connected: false };
  const cases: Case[] = [
    [
      'NO_SERVERS when the request was sent and confirmed on a live connection and nothing is known to consume its queue',
      { sent: true, confirmed: true, sends: 1 },
      { ...live, trouble: undefined, unanswered: true },
      'NO_SERVERS',
      undefined,
    ],
    [
      'OVERLOADED, not NO_SERVERS, when the broker never confirmed it',
      { sent: true, confirmed: false, sends: 1 },
      { ...live, trouble: undefined, unanswered: true },
      'OVERLOADED',
      undefined,
    ],
    [
      'TIMEOUT, not NO_SERVERS, when it was never sent',
      { sent: false, sends: 0 },
      { ...live, trouble: undefined, unanswered: true },
      'TIMEOUT',
      undefined,
    ],
    [
      'TIMEOUT caused by the trouble, not NO_SERVERS, when the connection dropped while it waited',
      { sent: true, confirmed: true, sends: 2, dropped: true },
      { ...live, trouble, unanswered: true },
      'TIMEOUT',
      trouble,
    ],
    [
      'OVERLOADED when the broker never confirmed the request on a live connection',
      { sent: true, confirmed: false, sends: 1 },
      { ...live, trouble: undefined },
      'OVERLOADED',
      undefined,
    ],
    [
      'OVERLOADED when unconfirmed for at least one wait of confirmation before the deadline',
      { sent: true, confirmed: false, sends: 1, unconfirmedSince: 4000 },
      { ...live, trouble: undefined, now: 5000, confirmWaitMs: 1000 },
      'OVERLOADED',
      undefined,
    ],
    [
      // The broker was unreachable until just before the deadline: its silence says nothing yet.
      'TIMEOUT, not OVERLOADED, when sent too late before the deadline to be confirmed (less than one wait)',
      { sent: true, confirmed: false, sends: 1, unconfirmedSince: 4990 },
      { ...live, trouble: undefined, now: 5000, confirmWaitMs: 1000 },
      'TIMEOUT',
      undefined,
    ],
    [
      // A short call that was out for most of its time: half of it is enough to tell.
      'OVERLOADED when unconfirmed for half the call’s time, when that is shorter than one wait',
      { sent: true, confirmed: false, sends: 1, unconfirmedSince: 2500 },
      { ...live, trouble: undefined, now: 5000, confirmWaitMs: 4000 },
      'OVERLOADED',
      undefined,
    ],
    [
      // an earlier connection's end is not why this call got no reply
      'TIMEOUT without a cause when the request was confirmed and sent once',
      { sent: true, confirmed: true, sends: 1 },
      { ...live, trouble },
      'TIMEOUT',
      undefined,
    ],
    [
      'TIMEOUT, not OVERLOADED, when requests are not confirmed',
      { sent: true, confirmed: false, sends: 1 },
      { ...live, confirmRequests: false, trouble: undefined },
      'TIMEOUT',
      undefined,
    ],
    [
      'TIMEOUT caused by the trouble when the connection dropped while the call waited',
      { sent: true, confirmed: true, sends: 2, dropped: true },
      { ...live, trouble },
      'TIMEOUT',
      trouble,
    ],
    [
      // Regression: a re-send for a late receipt was taken for a dropped connection, and the
      // call's error named an earlier connection's end, however old, as its cause.
      'TIMEOUT without a cause when the request was re-sent on a connection that stayed up',
      { sent: true, confirmed: true, sends: 2, dropped: false },
      { ...live, trouble },
      'TIMEOUT',
      undefined,
    ],
    [
      // Regression: a request the broker killed the connection for, re-sent at the deadline on the
      // new connection, was reported OVERLOADED.
      'TIMEOUT caused by the trouble, not OVERLOADED, when unconfirmed after a re-send on a new connection',
      { sent: true, confirmed: false, sends: 3, dropped: true },
      { ...live, trouble },
      'TIMEOUT',
      trouble,
    ],
    [
      // Regression: a full queue's idempotent request, re-sent on the connection the stuck check
      // made anew and again handled unconfirmed there, was TIMEOUT caused by the stuck check.
      'OVERLOADED when handled unconfirmed on the new connection after a drop',
      { sent: true, confirmed: false, sends: 3, dropped: true, handledSince: 0 },
      { ...live, trouble },
      'OVERLOADED',
      undefined,
    ],
    [
      'TIMEOUT caused by the trouble when not connected, even if never confirmed',
      { sent: true, confirmed: false, sends: 1 },
      { ...down, trouble },
      'TIMEOUT',
      trouble,
    ],
    [
      'TIMEOUT without a cause when not connected and nothing went wrong yet',
      { sent: false, sends: 0 },
      { ...down, trouble: undefined },
      'TIMEOUT',
      undefined,
    ],
  ];

  it.each(cases)('deadline - %s', (_name, delivery, connection, code, cause) => {
    const error = deadlineError(callWith(delivery), connection);
    expect(error.code).toBe(code);
    expect(error.cause).toBe(cause);
    if (cause === undefined && connection.trouble) expect(error.message).not.toContain(connection.trouble.message);
  });

  // Regression: a stream cut off by its deadline said "no reply", or NO_SERVERS or OVERLOADED.
  it.each([
    ['confirmed, nothing known to consume the queue', { sent: true, confirmed: true, sends: 1 }, { unanswered: true }],
    ['never confirmed', { sent: true, confirmed: false, sends: 1 }, {}],
  ])('deadline - a stream that had items is TIMEOUT saying how many came (%s)', (_name, delivery, context) => {
    const call = { ...callWith(delivery), nextItem: 3 };
    const error = deadlineError(call, { ...live, trouble: undefined, ...context });
    expect(error).toMatchObject({
      code: 'TIMEOUT',
      message: 'the stream from /queue/q did not end within 5000 ms; 3 items arrived',
    });
  });

  it('deadline - a stream that had an item and lost its connection is TIMEOUT caused by the trouble', () => {
    const call = { ...callWith({ sent: true, confirmed: true, sends: 2, dropped: true }), nextItem: 1 };
    const error = deadlineError(call, { ...down, trouble });
    expect(error.cause).toBe(trouble);
    expect(error.message).toBe(
      'the stream from /queue/q did not end within 5000 ms (1 item arrived); not connected to the broker: socket closed (1006)',
    );
  });
});
