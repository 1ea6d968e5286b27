import { describe, expect, it } from 'vitest';
import { newDelivery } from './pending-calls.js';
import { MAX_UNCONFIRMED_CALLS, RequestBatches } from './request-batches.js';

/** A call; idempotent unless told, as the batch's RECEIPT confirms only those. */
function call(correlationId: string, idempotent = true) {
  return { correlationId, delivery: newDelivery(1000), request: { idempotent } };
}

/** What a RECEIPT gives back of each call. */
const sent = (...calls: Array<ReturnType<typeof call>>) =>
  calls.map(({ correlationId, delivery }) => ({ correlationId, delivery }));

/** Batches whose turns the test ends, writing into `written` (with each receipt id), until `failAt`. */
function setup({ confirm = true, failAt = Number.POSITIVE_INFINITY } = {}) {
  const turns: Array<() => void> = [];
  const written: Array<[string, string | undefined]> = [];
  const ended = new Set<string>();
  const batches = new RequestBatches<ReturnType<typeof call>>(confirm, (send) => turns.push(send), {
    pending: (c) => !ended.has(c.correlationId),
    write: (c, receiptId) => {
      if (written.length >= failAt) return false;
      written.push([c.correlationId, receiptId]);
      return true;
    },
  });
  const endTurn = () => {
    for (const turn of turns.splice(0)) turn();
  };
  return { batches, turns, written, ended, endTurn };
}

describe('RequestBatches', () => {
  it('batch - the calls of a turn go out together at its end; the last asks for the RECEIPT', () => {
    const { batches, turns, written, endTurn } = setup();
    const calls = ['a', 'b', 'c'].map((id) => call(id));
    for (const c of calls) batches.add(c);
    batches.add(calls[0] as never); // queued once
    expect(turns).toHaveLength(1);
    expect(written).toEqual([]);
    endTurn();
    expect(written).toEqual([
      ['a', undefined],
      ['b', undefined],
      ['c', 'c'],
    ]);
    // Each call's id and delivery only: a RECEIPT that never comes must not keep a call's body and stack.
    expect(batches.confirmed('c')).toStrictEqual(sent(...calls));
    expect(batches.confirmed('c')).toBeUndefined(); // forgotten once confirmed
  });

  it('batch - a call that is not idempotent asks for its own RECEIPT, which confirms it alone; the batch’s confirms only the idempotent ones', () => {
    const { batches, written, endTurn } = setup();
    const [a, charge, c, refund] = [call('a'), call('charge', false), call('c'), call('refund', false)];
    for (const one of [a, charge, c, refund]) batches.add(one);
    endTurn();
    // The broker confirms each frame on its own: another frame's RECEIPT says nothing of this one's
    // fate (a full queue refuses a publish without a word), and a request that a server will run
    // must not be called refused.
    expect(written).toEqual([
      ['a', undefined],
      ['charge', 'charge'],
      ['c', undefined],
      ['refund', 'refund'],
    ]);
    expect(batches.confirmed('refund')).toStrictEqual(sent(a, c, refund));
    expect(batches.confirmed('charge')).toStrictEqual(sent(charge));
  });

  it('batch - a call sent again, last of a later batch, gets a RECEIPT id of its own: the first batch’s RECEIPT still confirms all of that batch', () => {
    const { batches, written, endTurn } = setup();
    const [a, b] = ['a', 'b'].map((id) => call(id)) as [ReturnType<typeof call>, ReturnType<typeof call>];
    batches.add(a);
    batches.add(b);
    endTurn();
    b.delivery.sends = 1; // as the write records it
    batches.add(b); // re-sent: its first RECEIPT was late
    endTurn();
    expect(written).toEqual([
      ['a', undefined],
      ['b', 'b'],
      ['b', 'b.1'],
    ]);
    expect(batches.confirmed('b')).toStrictEqual(sent(a, b));
    expect(batches.confirmed('b.1')).toStrictEqual(sent(b));
  });

  it('batch - calls that ended while queued are left out, and the RECEIPT moves to the last one left', () => {
    const { batches, written, ended, endTurn } = setup();
    for (const id of ['a', 'b']) batches.add(call(id));
    ended.add('b');
    endTurn();
    expect(written).toEqual([['a', 'a']]);
  });

  it('batch - without confirmation no request asks for a RECEIPT', () => {
    const { batches, written, endTurn } = setup({ confirm: false });
    for (const id of ['a', 'b']) batches.add(call(id));
    endTurn();
    expect(written).toEqual([
      ['a', undefined],
      ['b', undefined],
    ]);
    expect(batches.confirmed('b')).toBeUndefined();
  });

  it('batch - a failed write leaves the rest unsent and not queued, so a reconnect sends them again', () => {
    const { batches, written, endTurn } = setup({ failAt: 1 });
    const calls = ['a', 'b', 'c'].map((id) => call(id));
    for (const c of calls) batches.add(c);
    endTurn();
    expect(written).toEqual([['a', undefined]]);
    expect(calls.map((c) => c.delivery.queued)).toEqual([false, false, false]);
    expect(batches.confirmed('c')).toBeUndefined();
  });

  it('reset - the RECEIPTs of the last connection are no longer awaited', () => {
    const { batches, endTurn } = setup();
    batches.add(call('a'));
    endTurn();
    batches.reset();
    expect(batches.confirmed('a')).toBeUndefined();
  });

  it('batch - the calls held for RECEIPTs that never come (a queue refusing publishes) are bounded by count: the oldest batches are forgotten first', () => {
    const { batches, endTurn } = setup();
    const batchSize = 1000;
    const turns = MAX_UNCONFIRMED_CALLS / batchSize + 1;
    for (let turn = 0; turn < turns; turn++) {
      for (let i = 0; i < batchSize; i++) batches.add(call(`t${turn}-${i}`));
      endTurn();
    }
    expect(batches.confirmed(`t0-${batchSize - 1}`)).toBeUndefined(); // the oldest, forgotten
    expect(batches.confirmed(`t1-${batchSize - 1}`)).toHaveLength(batchSize);
    expect(batches.confirmed(`t${turns - 1}-${batchSize - 1}`)).toHaveLength(batchSize);
  });
});
