/*
 * Calls a service's procedures (service-definition.ts), typed from its definition:
 *
 *   const calc = new ServiceClient(calculator, { url });
 *   await calc.call('add', { a: 1, b: 2 });           // typed input and output
 *   for await (const n of calc.stream('count', { to: 3 })) ...
 *   await calc.procedures.add({ a: 1, b: 2 });        // the same, as methods
 *
 * Like FibonacciRpcClient it uses an RpcClient rather than being one, so several services share one
 * connection (pass `client`).
 */
import { decodedFor } from '../core/client-stats.js';
import { RpcClient, type RpcClientOptions, type RpcReply, type StreamOptions } from '../core/rpc-client.js';
import { RpcError } from '../errors.js';
import { checkName } from '../options.js';
import { resolveQueueDeclaration } from '../protocol/queue-profile.js';
import { Header, type QueueDeclaration, queueDeclarationHeaders, queueDestination } from '../protocol/wire.js';
import { mapItems } from './map-items.js';
import type {
  AnyProcedure,
  InputOf,
  KindOf,
  OutputOf,
  ProceduresOf,
  ProceduresOfKind,
  ServiceDefinition,
} from './service-definition.js';

export interface ServiceClientOptions extends RpcClientOptions {
  /**
   * An RpcClient to send through, shared with other services: every other option but `exchange`
   * (the connection's, timeoutMs, whenNoServers, traceCalls) is then that client's, and close()
   * leaves it open.
   */
  client?: RpcClient | undefined;
  /**
   * Send requests through this exchange, with the service's queue as routing key, instead of
   * declaring the queue (see FibonacciClientOptions.exchange). With a shared `client`, that client's
   * exchange (RpcClientOptions.exchange) is used, and another one is INVALID_ARGUMENT.
   * @default the shared `client`'s exchange
   */
  exchange?: string | undefined;
}

/**
 * A call's options: those of RpcClient.request() a caller of a procedure may set. `headers` reach
 * the handler as `request.headers` (a tenant, a user's token); `rpc-procedure` is the client's own.
 */
export type ProcedureCallOptions = Pick<
  StreamOptions,
  'timeoutMs' | 'signal' | 'traceparent' | 'idempotent' | 'headers'
>;
export type ProcedureStreamOptions = ProcedureCallOptions & Pick<StreamOptions, 'maxItems' | 'maxBytes'>;

/** A call's arguments after the procedure's name: the input (optional when it may be undefined), then options. */
export type ProcedureArgs<P, Options> =
  undefined extends InputOf<P> ? [input?: InputOf<P>, options?: Options] : [input: InputOf<P>, options?: Options];

/** The procedures as methods: a call resolves to the output, a stream is an async iterator of items. */
export type ProcedureMethods<S> = {
  [K in keyof ProceduresOf<S>]: KindOf<ProceduresOf<S>[K]> extends 'stream'
    ? (
        ...args: ProcedureArgs<ProceduresOf<S>[K], ProcedureStreamOptions>
      ) => AsyncIterableIterator<OutputOf<ProceduresOf<S>[K]>>
    : (...args: ProcedureArgs<ProceduresOf<S>[K], ProcedureCallOptions>) => Promise<OutputOf<ProceduresOf<S>[K]>>;
};

export class ServiceClient<S extends ServiceDefinition> {
  readonly definition: S;
  /** The RpcClient its requests go through. */
  readonly rpc: RpcClient;
  /** Every procedure as a typed method. */
  readonly procedures: ProcedureMethods<S>;
  readonly #ownsClient: boolean;
  readonly #destination: string;
  readonly #declare: Readonly<Record<string, string>>;
  #closed = false;

  constructor(definition: S, options: ServiceClientOptions = {}) {
    this.definition = definition;
    const route = serviceRoute(
      definition.queue,
      resolveQueueDeclaration(definition.queueDeclaration),
      serviceExchange(options),
    );
    this.#destination = route.destination;
    this.#declare = route.declare;
    this.#ownsClient = options.client === undefined;
    this.rpc = options.client ?? new RpcClient(options);
    const methods: Record<string, unknown> = Object.create(null); // any procedure name is a method, `__proto__` too
    for (const [name, procedure] of Object.entries(definition.procedures)) {
      methods[name] =
        procedure.kind === 'stream'
          ? (...args: unknown[]) => this.stream(name as never, ...(args as never))
          : (...args: unknown[]) => this.call(name as never, ...(args as never));
    }
    this.procedures = methods as ProcedureMethods<S>;
  }

  /** Calls a procedure; resolves with its decoded output, or rejects with an RpcError. */
  async call<K extends keyof ProceduresOfKind<S, 'call'> & string>(
    name: K,
    ...args: ProcedureArgs<ProceduresOf<S>[K], ProcedureCallOptions>
  ): Promise<OutputOf<ProceduresOf<S>[K]>> {
    const [input, given] = args as [unknown, ProcedureCallOptions | null | undefined];
    const options = given ?? {}; // null too, from JavaScript
    const procedure = this.#procedure(name, 'call');
    const reply = await this.rpc.request(
      this.#destination,
      encodeInput(procedure, input),
      this.#options(name, procedure, options),
    );
    return decodedFor(this.rpc, () => decodeOutput(procedure, name, reply)) as OutputOf<ProceduresOf<S>[K]>;
  }

  /**
   * Calls a streamed procedure, once the first item is read; yields each decoded item until the
   * server's end. Leaving the loop early (or return()) cancels the call at once.
   */
  stream<K extends keyof ProceduresOfKind<S, 'stream'> & string>(
    name: K,
    ...args: ProcedureArgs<ProceduresOf<S>[K], ProcedureStreamOptions>
  ): AsyncIterableIterator<OutputOf<ProceduresOf<S>[K]>> {
    const [input, given] = args as [unknown, ProcedureStreamOptions | null | undefined];
    const options = given ?? {}; // null too, from JavaScript
    let procedure: AnyProcedure;
    const open = () => {
      procedure = this.#procedure(name, 'stream');
      const body = encodeInput(procedure, input);
      return this.rpc.stream(this.#destination, body, {
        ...this.#options(name, procedure, options),
        ...limits(options),
      });
    };
    // An item that cannot be decoded ends the call with BAD_REPLY (counted so), and the server stops.
    const decode = (item: RpcReply) => decodeOutput(procedure, name, item) as OutputOf<ProceduresOf<S>[K]>;
    return mapItems(open, decode, { throwToSource: true });
  }

  /** No more calls through this client; closes its own RpcClient, leaves a shared one open. */
  close(): Promise<void> {
    this.#closed = true;
    return this.#ownsClient ? this.rpc.close() : Promise.resolve();
  }

  #procedure(name: string, kind: 'call' | 'stream'): AnyProcedure {
    if (this.#closed) throw new RpcError('CLOSED', 'this service client is closed');
    const procedure = Object.hasOwn(this.definition.procedures, name) ? this.definition.procedures[name] : undefined;
    if (procedure === undefined) {
      throw new RpcError('INVALID_ARGUMENT', `${this.definition.queue} has no procedure ${JSON.stringify(name)}`);
    }
    if (procedure.kind !== kind) {
      const use = procedure.kind === 'stream' ? 'a streamed procedure: use stream()' : 'not streamed: use call()';
      throw new RpcError('INVALID_ARGUMENT', `${JSON.stringify(name)} of ${this.definition.queue} is ${use}`);
    }
    return procedure;
  }

  #options(name: string, procedure: AnyProcedure, options: ProcedureCallOptions) {
    if (Object.hasOwn(options.headers ?? {}, Header.procedure)) {
      throw new RpcError('INVALID_ARGUMENT', `the header ${Header.procedure} is the service client's own`);
    }
    // The default procedure goes without the header: the request is then the tutorial's own.
    const route: Record<string, string> = name === this.definition.defaultProcedure ? {} : { [Header.procedure]: name };
    const headers: Record<string, string> = { ...options.headers, ...route };
    return {
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      traceparent: options.traceparent,
      idempotent: options.idempotent ?? procedure.idempotent,
      headers,
      declare: this.#declare,
      queue: this.definition.queue,
    };
  }
}

/**
 * The exchange a service's requests go through: its own, or on a shared client that client's,
 * which its pings and cancels go through too. They must agree: a page's broker user may publish to
 * one exchange only, and a client whose pings went elsewhere would have its connection closed.
 */
export function serviceExchange({
  client,
  exchange,
}: {
  client?: RpcClient | undefined;
  exchange?: string | undefined;
}): string | undefined {
  if (client === undefined || exchange === undefined || exchange === client.exchange)
    return exchange ?? client?.exchange;
  throw new RpcError(
    'INVALID_ARGUMENT',
    `exchange ${JSON.stringify(exchange)} differs from the shared client's (${JSON.stringify(client.exchange ?? null)}), ` +
      'through which its pings and cancels go: give the RpcClient that exchange',
  );
}

/**
 * Where a service's requests go and what declares its queue: `/queue/<queue>` with the declaration
 * (the tutorial's way), or through `exchange` with the queue as routing key, declaring nothing.
 * Frozen, so that each call need not copy it (RpcClient keeps a copy of what a caller may change).
 */
export function serviceRoute(
  queue: string,
  declaration: QueueDeclaration,
  exchange: string | undefined,
): { destination: string; declare: Readonly<Record<string, string>> } {
  checkName(queue, 'queue');
  if (exchange !== undefined)
    return { destination: `/exchange/${checkName(exchange, 'exchange')}/${queue}`, declare: Object.freeze({}) };
  return { destination: queueDestination(queue), declare: Object.freeze(queueDeclarationHeaders(declaration)) };
}

function limits(options: ProcedureStreamOptions) {
  return { maxItems: options.maxItems, maxBytes: options.maxBytes };
}

/** The input as a body; the codec's own RpcError, or INVALID_ARGUMENT, before anything is sent. */
function encodeInput(procedure: AnyProcedure, input: unknown): string {
  try {
    return procedure.input.encode(input);
  } catch (error) {
    if (error instanceof RpcError) throw error;
    throw new RpcError('INVALID_ARGUMENT', `the input cannot be encoded: ${(error as Error).message}`);
  }
}

function decodeOutput(procedure: AnyProcedure, name: string, reply: RpcReply): unknown {
  try {
    return procedure.output.decode(reply.body);
  } catch (error) {
    if (error instanceof RpcError) throw error;
    throw new RpcError('BAD_REPLY', `the reply of ${name} cannot be read: ${(error as Error).message}`);
  }
}
