import { describe, expect, it } from 'vitest';
import { CancellableRequests, REMEMBER_CANCEL_MS, REMEMBERED_CANCELS } from './cancellable-requests.js';
import { RequestControl } from './request-control.js';
import { MAX_CORRELATION_ID_LENGTH } from './request-intake.js';

const CALLER = '/reply-queue/amq.gen-caller';
const request = (replyTo = CALLER) => ({ replyTo, control: new RequestControl(Number.POSITIVE_INFINITY) });

describe('CancellableRequests', () => {
  it('a cancel stops every copy held, ABORTED, or DEADLINE_EXCEEDED when it says so; only from the caller’s reply queue', () => {
    const requests = new CancellableRequests();
    const [first, copy, other] = [request(), request(), request()];
    requests.add('c.1', first);
    requests.add('c.1', copy);
    requests.add('c.2', other);
    requests.cancel('c.1', '/reply-queue/amq.gen-someone-else');
    expect(first.control.reason).toBeUndefined();
    requests.cancel('c.1', CALLER);
    expect([first.control.reason?.code, copy.control.reason?.code]).toEqual(['ABORTED', 'ABORTED']);
    requests.cancel('c.2', CALLER, 'DEADLINE_EXCEEDED');
    expect(other.control.reason?.code).toBe('DEADLINE_EXCEEDED');
  });

  it('a request whose cancel came first (it waited in the queue) is stopped as it arrives, with that cancel’s reason', () => {
    const requests = new CancellableRequests();
    requests.cancel('c.1', CALLER, 'DEADLINE_EXCEEDED');
    requests.cancel('c.2', CALLER);
    const [late, aborted, foreign] = [request(), request(), request('/reply-queue/amq.gen-someone-else')];
    requests.add('c.1', late);
    requests.add('c.2', aborted);
    requests.add('c.1', foreign); // the same id from another reply queue: not that caller's call
    expect([late.control.reason?.code, aborted.control.reason?.code]).toEqual(['DEADLINE_EXCEEDED', 'ABORTED']);
    expect(foreign.control.reason).toBeUndefined();
  });

  // Regression: cancels were kept by correlation id alone, so a second caller's cancel of the same
  // id (clients that count their ids from 1) took the place of the first's, whose request then ran.
  it('two callers cancelling calls of the same id before they arrive: each request is stopped', () => {
    const requests = new CancellableRequests();
    const OTHER = '/reply-queue/amq.gen-other';
    requests.cancel('1', CALLER);
    requests.cancel('1', OTHER, 'DEADLINE_EXCEEDED');
    const [mine, theirs] = [request(), request(OTHER)];
    requests.add('1', mine);
    requests.add('1', theirs);
    expect([mine.control.reason?.code, theirs.control.reason?.code]).toEqual(['ABORTED', 'DEADLINE_EXCEEDED']);
    expect(requests.remembered).toBe(2);
  });

  it(`keeps at most ${REMEMBERED_CANCELS} cancels for requests not here yet, each for ${REMEMBER_CANCEL_MS / 60_000} minutes`, () => {
    let now = 0;
    const requests = new CancellableRequests(() => now);
    requests.cancel('old', CALLER);
    requests.cancel('kept', CALLER);
    for (let i = 0; i < REMEMBERED_CANCELS - 1; i++) requests.cancel(`c.${i}`, CALLER);
    const [old, kept] = [request(), request()];
    requests.add('old', old);
    requests.add('kept', kept);
    expect([old.control.reason, kept.control.reason?.code]).toEqual([undefined, 'ABORTED']);

    requests.cancel('stale', CALLER);
    now += REMEMBER_CANCEL_MS;
    const stale = request();
    requests.add('stale', stale);
    expect(stale.control.reason).toBeUndefined();
    // The expired ones go as the next cancel comes, not only when as many more have come.
    requests.cancel('fresh', CALLER);
    expect(requests.remembered).toBe(1);
  });

  // Regression: any login that may publish to rpc.cancel could make every server keep 4,096
  // cancels with headers of frame size (about 1 GiB), none of which a request can ever match.
  it('keeps no cancel a request could not match: a correlation id over 256 characters, a reply-to that is no reply queue', () => {
    const requests = new CancellableRequests();
    const longId = 'c'.repeat(MAX_CORRELATION_ID_LENGTH + 1);
    requests.cancel(longId, CALLER);
    requests.cancel('c.1', 'x'.repeat(100_000));
    requests.cancel('c.2', '/queue/rpc_queue');
    expect(requests.remembered).toBe(0);
    const held = request();
    requests.add(`c.${'x'.repeat(MAX_CORRELATION_ID_LENGTH - 2)}`, held);
    requests.cancel(`c.${'x'.repeat(MAX_CORRELATION_ID_LENGTH - 2)}`, CALLER); // the longest a request may have
    expect(held.control.reason?.code).toBe('ABORTED');
  });
});
