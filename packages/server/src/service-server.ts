/*
 * Serves a service (client package, services/service-definition.ts): one queue, one consumer, and
 * a request routed to its procedure by the `rpc-procedure` header (the default procedure without
 * one). Each input is decoded and validated before the handler runs; the handler gets the checked
 * input and the request (its `signal` aborts on cancel or deadline). A streamed procedure's handler
 * returns an async iterable; each item it yields goes out as the stream's next item.
 */
import {
  type AnyProcedure,
  type CheckedOf,
  type KindOf,
  type ProceduresOf,
  type ProducedOf,
  RpcError,
  type ServiceDefinition,
} from '@stomp-rpc/client';
import { checkInput, isThenable, mapItems, procedureOf } from '@stomp-rpc/client/internal';
import type { RpcRequest } from './request-intake.js';
import { type HandlerReply, type RpcHandler, RpcServer, type RpcServerOptions } from './rpc-server.js';

/** One handler per procedure, typed from the definition. */
export type ServiceImplementation<S extends ServiceDefinition> = {
  [K in keyof ProceduresOf<S>]: (
    input: CheckedOf<ProceduresOf<S>[K]>,
    request: RpcRequest,
  ) => KindOf<ProceduresOf<S>[K]> extends 'stream'
    ? AsyncIterable<ProducedOf<ProceduresOf<S>[K]>> | (Iterable<ProducedOf<ProceduresOf<S>[K]>> & object)
    : ProducedOf<ProceduresOf<S>[K]> | PromiseLike<ProducedOf<ProceduresOf<S>[K]>>;
};

/** An RpcServer's options; `queue` and `queueDeclaration` default to the definition's. */
export type ServiceServerOptions = Omit<RpcServerOptions, 'handler' | 'procedures' | 'defaultProcedure'>;

/** The RpcHandler that routes a service's requests to `implementation`. */
export function serviceHandler<S extends ServiceDefinition>(
  definition: S,
  implementation: ServiceImplementation<S>,
): RpcHandler {
  for (const name of Object.keys(definition.procedures)) {
    // A class's methods count (they are inherited); Object.prototype's `toString` does not, nor
    // `constructor` unless the object has its own (a class instance's is the class itself).
    const handler = (implementation as Record<string, unknown>)[name];
    const inherited = name === 'constructor' ? !Object.hasOwn(implementation, name) : false;
    if (typeof handler !== 'function' || inherited || handler === (Object.prototype as Record<string, unknown>)[name]) {
      throw new RpcError('INVALID_ARGUMENT', `no handler for procedure ${JSON.stringify(name)}`);
    }
  }
  const handlers = implementation as Record<string, (input: unknown, request: RpcRequest) => unknown>;
  return (request) => {
    const found = procedureOf(definition, request.procedure);
    if (found === undefined) {
      const named =
        request.procedure === undefined
          ? 'no default procedure'
          : `no procedure ${JSON.stringify(request.procedure.slice(0, 64))}`;
      throw new RpcError('UNIMPLEMENTED', `${definition.queue} has ${named}`);
    }
    const handler = handlers[found.name] as (input: unknown, request: RpcRequest) => unknown;
    const input = checkInput(found.procedure, request.body);
    // Called as a method: a class instance's handlers use `this`.
    const run = (checked: unknown) => answer(found, handler.call(implementation, checked, request));
    if (!isThenable(input)) return run(input);
    return Promise.resolve(input).then((checked) => {
      // Cancelled, or past its deadline, while an async validator ran: the handler must not start.
      request.signal.throwIfAborted();
      return run(checked);
    });
  };
}

/** An RpcServer for a service: its queue, declaration, routing and per-procedure stats. */
export function serveService<S extends ServiceDefinition>(
  definition: S,
  implementation: ServiceImplementation<S>,
  options: ServiceServerOptions = {},
): RpcServer {
  return new RpcServer({
    ...options,
    handler: serviceHandler(definition, implementation),
    queue: options.queue ?? definition.queue,
    // `?? ` and not a spread: an option given as undefined must not drop the definition's declaration.
    queueDeclaration: options.queueDeclaration ?? definition.queueDeclaration,
    procedures: Object.keys(definition.procedures),
    ...(definition.defaultProcedure === undefined ? {} : { defaultProcedure: definition.defaultProcedure }),
  });
}

/**
 * A handler's result as the server sends it: encoded, item by item for a stream. A promise of any
 * kind (a query builder's thenable too) is awaited, not encoded.
 */
function answer(
  { name, procedure }: { name: string; procedure: AnyProcedure },
  result: unknown,
): HandlerReply | Promise<HandlerReply> {
  const { output } = procedure;
  if (procedure.kind === 'stream') {
    // Plain JavaScript (or a handler that forgot to return) may give anything; a string is refused
    // too, as its typing refuses it: a stream of its characters is never what was meant.
    if (!isIterable(result)) {
      const given = result === null ? 'null' : isThenable(result) ? 'a promise' : typeof result;
      throw new RpcError('INTERNAL', `the handler of ${name} returned ${given}, not an iterable of items`);
    }
    return mapItems(
      () => result as AsyncIterable<unknown>,
      (item) => output.encode(item),
      { eager: true }, // a stream stopped before its first item still closes the handler's iterable
    );
  }
  return isThenable(result) ? Promise.resolve(result).then((value) => output.encode(value)) : output.encode(result);
}

function isIterable(value: unknown): value is AsyncIterable<unknown> | Iterable<unknown> {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const items = value as Partial<AsyncIterable<unknown> & Iterable<unknown>>;
  return typeof items[Symbol.asyncIterator] === 'function' || typeof items[Symbol.iterator] === 'function';
}
