// The streamed sequence's pure parts: the form's range, the call's deadline, one item's cells and
// the line that says how the stream went; unit-tested in sequence.test.ts.
import {
  checkRange,
  type FibonacciItem,
  type FibonacciRange,
  MAX_SEQUENCE_LENGTH,
  MAX_SEQUENCE_N,
  MAX_SEQUENCE_PAUSE_MS,
  MAX_SEQUENCE_PAUSES_MS,
} from '@stomp-rpc/client';
import { foldDigits, formatDigits, formatMs } from './format.js';

/** What INVALID_ARGUMENT means for a sequence, in place of the single call's explanation. */
export const SEQUENCE_EXPLANATIONS: Readonly<Record<string, string>> = {
  INVALID_ARGUMENT: `That range cannot be streamed: from and to are whole numbers with from ≤ to ≤ ${MAX_SEQUENCE_N.toLocaleString('en-US')}, at most ${MAX_SEQUENCE_LENGTH.toLocaleString('en-US')} of them, with a pause of 0 to ${MAX_SEQUENCE_PAUSE_MS} ms, the pauses adding up to at most ${MAX_SEQUENCE_PAUSES_MS / 1000} s.`,
};

/**
 * Beyond the pauses, the time a stream may take: the client's deadline bounds the whole stream,
 * and a person watching would rather wait through a slow broker than get TIMEOUT halfway.
 */
export const STREAM_MARGIN_MS = 15_000;

/** A field's number; a blank field is NaN, not the 0 that Number('') gives. */
function fieldNumber(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? Number.NaN : Number(trimmed);
}

/**
 * The range the form asks for, checked by the service's own rule before anything is sent:
 * INVALID_ARGUMENT (an RpcError) when it is not one the servers take.
 */
export function readRange(from: string, to: string, pauseMs: string): Required<FibonacciRange> {
  return checkRange({ from: fieldNumber(from), to: fieldNumber(to), pauseMs: fieldNumber(pauseMs) });
}

/** The items a valid range yields. */
export function itemCount(range: FibonacciRange): number {
  return range.to - range.from + 1;
}

/**
 * The stream's deadline: every pause between its items twice, and the margin. A stream cut by a
 * reconnect is sent again and starts over (the client drops the items it already has), so the
 * deadline allows for one replay: without it, a restart late in a long stream ends it TIMEOUT.
 */
export function sequenceTimeoutMs(range: Required<FibonacciRange>): number {
  return 2 * (itemCount(range) - 1) * range.pauseMs + STREAM_MARGIN_MS;
}

/** One item's row texts: n, fib(n) folded to its edges when long, its digit count. */
export function itemCells(item: FibonacciItem): [n: string, value: string, digits: string] {
  const folded = foldDigits(item.value.toString(), 12);
  return [String(item.n), folded.shown, formatDigits(folded.digits)];
}

export type SequenceState = 'running' | 'done' | 'stopped' | 'failed';

export interface SequenceProgress {
  state: SequenceState;
  received: number;
  /** 0 when the range was not valid. */
  expected: number;
  elapsedMs: number;
}

/** "streaming: 3 of 11 items", "done: 11 of 11 items in 1.02 s", "stopped after 4 of 1000 items …". */
export function sequenceSummary({ state, received, expected, elapsedMs }: SequenceProgress): string {
  const items = `${received} of ${expected} ${expected === 1 ? 'item' : 'items'}`;
  switch (state) {
    case 'running':
      return `streaming: ${items}`;
    case 'done':
      return `done: ${items} in ${formatMs(elapsedMs)}`;
    case 'stopped':
      // An item proves the request reached a server, and so that the client sent it a cancel; before
      // the first, Stop may have come while the request still waited to be sent (connecting, say).
      return received === 0
        ? `stopped before the first of ${expected} ${expected === 1 ? 'item' : 'items'} (${formatMs(elapsedMs)})`
        : `stopped after ${items} (${formatMs(elapsedMs)}): the server was told to stop`;
    case 'failed':
      return expected === 0 ? 'not started: see the error below' : `failed after ${items}`;
  }
}
