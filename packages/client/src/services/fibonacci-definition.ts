/*
 * The Fibonacci service, defined through the service API (service-definition.ts) and shared by the
 * server and the client:
 * - `fib`, the tutorial's procedure and the default one: its requests carry no `rpc-procedure`
 *   header and keep the tutorial's decimal bodies (protocol/fibonacci.ts), so the tutorial's own
 *   programs and RxStompRPC interoperate with it on `rpc_queue`.
 * - `fibSequence`, fib(from..to) streamed, one item per n: `{"n":5,"value":"5"}` (decimal text,
 *   as JSON has no big integers).
 */
import { RpcError } from '../errors.js';
import { checkDecimalN, decodeValue, encodeN } from '../protocol/fibonacci.js';
import { DEFAULT_QUEUE } from '../protocol/wire.js';
import { type Codec, defineService, procedure, streamProcedure } from './service-definition.js';

/** The most items one fibSequence call may ask for. */
export const MAX_SEQUENCE_LENGTH = 1000;
/** The largest n of a sequence: fib(20000) has 4,180 digits, so a call's items stay within a few MB. */
export const MAX_SEQUENCE_N = 20_000;
/** The longest pause between items a caller may ask for. */
export const MAX_SEQUENCE_PAUSE_MS = 1000;
/**
 * The longest the pauses of one call may add up to. A stream holds back its server's
 * acknowledgements until it ends (docs/protocol.md, "Delivery"), and fibSequence shares rpc_queue
 * with fib: one call of 1,000 one-second pauses held a server's prefetch window for its deadline.
 */
export const MAX_SEQUENCE_PAUSES_MS = 30_000;

export interface FibonacciRange {
  from: number;
  to: number;
  /** Wait this long before each item after the first (to watch it fill in). @default 0 */
  pauseMs?: number | undefined;
}

export interface FibonacciItem {
  n: number;
  value: bigint;
}

/** The tutorial's bodies: n in decimal; the server bounds it by its own maxN. */
const decimalN: Codec<number | bigint | string, unknown> = { encode: encodeN, decode: (body) => body };

const decimalValue: Codec<bigint | string, bigint> = {
  encode: (value) => (typeof value === 'string' ? value : value.toString()),
  decode: (body) => decodeValue(body, 'n'),
};

const sequenceItem: Codec<{ n: number; value: bigint | string }, FibonacciItem> = {
  encode: ({ n, value }) => `{"n":${n},"value":"${value}"}`,
  decode: (body) => {
    const item = JSON.parse(body) as { n?: unknown; value?: unknown };
    if (!Number.isSafeInteger(item.n) || typeof item.value !== 'string') {
      throw new RpcError('BAD_REPLY', `not a Fibonacci item: ${body.slice(0, 80)}`);
    }
    return { n: item.n as number, value: decodeValue(item.value, item.n as number) };
  },
};

/** A range of at most MAX_SEQUENCE_LENGTH whole numbers from 0 to MAX_SEQUENCE_N, with its pause (MAX_SEQUENCE_PAUSES_MS in all). */
export function checkRange(input: unknown): Required<FibonacciRange> {
  const {
    from,
    to,
    pauseMs = 0,
  } = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const whole = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
  if (!whole(from) || !whole(to) || from > to || to > MAX_SEQUENCE_N) {
    throw new RpcError(
      'INVALID_ARGUMENT',
      `from and to must be whole numbers with 0 <= from <= to <= ${MAX_SEQUENCE_N}`,
    );
  }
  if (to - from >= MAX_SEQUENCE_LENGTH) {
    throw new RpcError('INVALID_ARGUMENT', `at most ${MAX_SEQUENCE_LENGTH} numbers per call, got ${to - from + 1}`);
  }
  if (!whole(pauseMs) || pauseMs > MAX_SEQUENCE_PAUSE_MS) {
    throw new RpcError('INVALID_ARGUMENT', `pauseMs must be a whole number from 0 to ${MAX_SEQUENCE_PAUSE_MS}`);
  }
  if ((to - from) * pauseMs > MAX_SEQUENCE_PAUSES_MS) {
    throw new RpcError(
      'INVALID_ARGUMENT',
      `the pauses add up to ${(to - from) * pauseMs} ms, at most ${MAX_SEQUENCE_PAUSES_MS} per call`,
    );
  }
  return { from, to, pauseMs };
}

export const fibonacciService = defineService({
  queue: DEFAULT_QUEUE,
  defaultProcedure: 'fib',
  procedures: {
    /** fib(n), exact: the tutorial's procedure. Pure, so idempotent. */
    fib: procedure({ input: checkDecimalN, inputCodec: decimalN, output: decimalValue, idempotent: true }),
    /** fib(from), fib(from + 1), … fib(to), one item each. */
    fibSequence: streamProcedure({
      input: (input: unknown) => checkRange(input),
      inputCodec: {
        // Checked before it is sent, as fib's n is: a range no server takes fails at once, not
        // after a round trip (or, with no server, at the deadline).
        encode: (range: FibonacciRange) => {
          checkRange(range);
          return JSON.stringify(range);
        },
        decode: (body) => JSON.parse(body) as unknown,
      },
      output: sequenceItem,
      idempotent: true,
    }),
  },
});

export type FibonacciService = typeof fibonacciService;
