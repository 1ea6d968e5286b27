/*
 * A service: several procedures behind one queue, defined once and shared by the server (which
 * implements it, server package `serveService`) and the client (which calls it, service-client.ts).
 * TypeScript infers every procedure's input and output from the definition; nothing is generated.
 *
 * On the wire a request names its procedure in the `rpc-procedure` header, and one without it goes
 * to the service's default procedure: so a service is still one queue and one consumer per server,
 * and the tutorial's bare requests reach the tutorial's procedure. Bodies are JSON unless a
 * procedure brings its own codec (Fibonacci keeps the tutorial's decimal text).
 */
import { messageOf, RpcError } from '../errors.js';
import { checkName } from '../options.js';
import type { QueueProfile } from '../protocol/queue-profile.js';
import type { QueueDeclaration } from '../protocol/wire.js';

/**
 * The Standard Schema interface (standardschema.dev), which zod, valibot, arktype and others
 * implement: any of them validates a procedure's input.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string;
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
      }>;
    };

/**
 * Checks a decoded input: a Standard Schema, or a function that returns the input (or a promise of
 * it) or throws (or rejects).
 */
export type Validator<Input, Checked> =
  | StandardSchemaV1<Input, Checked>
  | ((input: unknown) => Checked | PromiseLike<Checked>);

/** How values travel as message bodies. `decode` throws on a body it cannot read. */
export interface Codec<Value, Decoded = Value> {
  encode(value: Value): string;
  decode(body: string): Decoded;
}

/** JSON bodies: what a service uses unless a procedure says otherwise. `undefined` is the empty body. */
export function json<Value>(): Codec<Value> {
  return {
    encode: (value) => JSON.stringify(value) ?? '',
    decode: (body) => (body === '' ? undefined : JSON.parse(body)) as Value,
  };
}

/**
 * A procedure of a service. `Input` is what a caller passes, `Checked` what the handler gets once
 * the server has validated it, `Output` what the caller gets back (each item, for a stream),
 * `Produced` what the handler returns (the same unless the codec encodes something else).
 */
export interface Procedure<
  Input,
  Checked,
  Output,
  Kind extends 'call' | 'stream' = 'call' | 'stream',
  Produced = Output,
> {
  readonly kind: Kind;
  /** Encodes the caller's input; on the server, decodes the body before validation. */
  readonly input: Codec<Input, unknown>;
  /** Checks what `input` decoded (a schema's own input type may differ from `Input` with a codec). */
  readonly validate: Validator<unknown, Checked>;
  /** Encodes the handler's output on the server; decodes it for the caller. */
  readonly output: Codec<Produced, Output>;
  /** Calls may be sent twice without harm (re-sent after a reconnect). */
  readonly idempotent: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: any procedure, whatever its types
export type AnyProcedure = Procedure<any, any, any, 'call' | 'stream', any>;

interface ProcedureCodecs<Input, Output, Produced> {
  /** @default JSON */
  output?: Codec<Produced, Output> | undefined;
  /** @default JSON */
  inputCodec?: Codec<Input, unknown> | undefined;
  /** @default false */
  idempotent?: boolean | undefined;
}

interface ProcedureOptions<Input, Checked, Output, Produced> extends ProcedureCodecs<Input, Output, Produced> {
  /** Validates the input on the server before the handler runs; a failure is INVALID_ARGUMENT. */
  input: Validator<Input, Checked>;
}

/*
 * The overloads below take a Standard Schema or a function that is not one. A schema that is also
 * a function (ArkType's, which return their errors) would otherwise match the function too, and
 * the handler would get `Checked | ArkErrors`; it is only ever used as a schema. A value typed as
 * the whole `Validator` union matches neither: narrow it first. (A third overload for the union was
 * tried: TypeScript then chose it for ArkType's schemas or for plain functions, losing their types.)
 */
interface SchemaProcedureOptions<SchemaInput, Input, Checked, Output, Produced>
  extends ProcedureCodecs<Input, Output, Produced> {
  /**
   * Validates the input on the server before the handler runs; a failure is INVALID_ARGUMENT. It
   * checks what `inputCodec` decoded: JSON, by default.
   */
  input: StandardSchemaV1<SchemaInput, Checked>;
}

interface FunctionProcedureOptions<Input, Checked, Output, Produced> extends ProcedureCodecs<Input, Output, Produced> {
  /** Returns the checked input (or a promise of it), or throws: INVALID_ARGUMENT with its message. */
  input: ((input: unknown) => Checked | PromiseLike<Checked>) & { readonly '~standard'?: never };
}

/*
 * The types come from the options alone (NoInfer on the result): inside defineService, TypeScript
 * would otherwise take them from its `AnyProcedure` constraint, and a function's input or a missing
 * output would be `any`. With a function, the caller passes what it returns (`Input = Checked`);
 * its type arguments come in that order: `procedure<Checked, Output>`.
 */
type Made<Input, Checked, Output, Kind extends 'call' | 'stream', Produced> = Procedure<
  NoInfer<Input>,
  NoInfer<Checked>,
  NoInfer<Output>,
  Kind,
  NoInfer<Produced>
>;

/** Makes a procedure of one kind from a Standard Schema, or from a function that is not one. */
interface ProcedureMaker<Kind extends 'call' | 'stream'> {
  // The caller passes the schema's input, unless an `inputCodec` says otherwise.
  <SchemaInput, Checked = SchemaInput, Output = unknown, Produced = Output, Input = SchemaInput>(
    options: SchemaProcedureOptions<SchemaInput, Input, Checked, Output, Produced>,
  ): Made<Input, Checked, Output, Kind, Produced>;
  <Checked, Output = unknown, Produced = Output, Input = Checked>(
    options: FunctionProcedureOptions<Input, Checked, Output, Produced>,
  ): Made<Input, Checked, Output, Kind, Produced>;
}

/** A procedure with one reply; its types are inferred from the validator and the output codec. */
export const procedure: ProcedureMaker<'call'> = (options: ProcedureOptions<unknown, unknown, unknown, unknown>) =>
  makeProcedure('call', options);

/** A procedure that replies with a stream of items, then an end. */
export const streamProcedure: ProcedureMaker<'stream'> = (
  options: ProcedureOptions<unknown, unknown, unknown, unknown>,
) => makeProcedure('stream', options);

function makeProcedure<Input, Checked, Output, Kind extends 'call' | 'stream', Produced>(
  kind: Kind,
  options: ProcedureOptions<Input, Checked, Output, Produced>,
): Procedure<Input, Checked, Output, Kind, Produced> {
  return {
    kind,
    input: options.inputCodec ?? json<Input>(),
    validate: options.input,
    output: options.output ?? (json<Output>() as unknown as Codec<Produced, Output>),
    idempotent: options.idempotent ?? false,
  };
}

export interface ServiceDefinition<Procedures extends Record<string, AnyProcedure> = Record<string, AnyProcedure>> {
  /** The queue its servers consume. */
  readonly queue: string;
  /** How the queue is declared; every party must agree. @default 'tutorial' */
  readonly queueDeclaration?: QueueDeclaration | QueueProfile | undefined;
  readonly procedures: Procedures;
  /** The procedure a request without an `rpc-procedure` header runs; none: such a request is UNIMPLEMENTED. */
  readonly defaultProcedure?: string | undefined;
}

/** Defines a service; the identity function, there for inference and for checking the definition early. */
export function defineService<const Procedures extends Record<string, AnyProcedure>>(
  definition: ServiceDefinition<Procedures> & { readonly defaultProcedure?: (keyof Procedures & string) | undefined },
): ServiceDefinition<Procedures> {
  checkName(definition.queue, 'queue');
  const { procedures } = definition;
  if (typeof procedures !== 'object' || procedures === null) {
    throw new RpcError('INVALID_ARGUMENT', 'a service needs procedures: { name: procedure(…) }');
  }
  for (const [name, made] of Object.entries(procedures)) {
    if (!/^[\w.-]{1,64}$/.test(name)) {
      throw new RpcError(
        'INVALID_ARGUMENT',
        `procedure names are 1 to 64 of [A-Za-z0-9_.-], got ${JSON.stringify(name)}`,
      );
    }
    checkProcedure(name, made);
  }
  const fallback = definition.defaultProcedure;
  if (fallback !== undefined && !Object.hasOwn(definition.procedures, fallback)) {
    throw new RpcError('INVALID_ARGUMENT', `defaultProcedure ${JSON.stringify(fallback)} is not a procedure`);
  }
  return definition;
}

/**
 * A procedure as procedure() or streamProcedure() make it. From JavaScript anything may come, and
 * a missing validator would otherwise fail every request as the caller's INVALID_ARGUMENT.
 */
function checkProcedure(name: string, made: Partial<AnyProcedure>): void {
  const fault = procedureFault(made ?? {});
  if (fault) throw new RpcError('INVALID_ARGUMENT', `procedure ${JSON.stringify(name)} ${fault}`);
}

/** What is wrong with a procedure, or undefined. */
function procedureFault({ kind, validate, input, output }: Partial<AnyProcedure>): string | undefined {
  if (kind !== 'call' && kind !== 'stream') return 'is not made by procedure() or streamProcedure()';
  if (typeof validate !== 'function' && !isStandardSchema(validate)) {
    return 'needs `input`: a Standard Schema (zod, valibot, arktype, …) or a function that checks the input';
  }
  if (!isCodec(input) || !isCodec(output)) return 'has an `inputCodec` or `output` without encode() and decode()';
  return undefined;
}

function isCodec(value: unknown): boolean {
  const codec = value as Partial<Codec<unknown, unknown>> | undefined;
  return typeof codec?.encode === 'function' && typeof codec?.decode === 'function';
}

/** The procedure a request names (`rpc-procedure`), or the default; undefined when there is none. */
export function procedureOf(
  definition: ServiceDefinition,
  name: string | undefined,
): { name: string; procedure: AnyProcedure } | undefined {
  const chosen = name ?? definition.defaultProcedure;
  if (chosen === undefined || !Object.hasOwn(definition.procedures, chosen)) return undefined;
  return { name: chosen, procedure: definition.procedures[chosen] as AnyProcedure };
}

/**
 * Decodes and validates a request body for `procedure`; INVALID_ARGUMENT with the validator's
 * message otherwise. Synchronous unless the validator is not (the server's hot path stays so).
 */
export function checkInput(procedure: AnyProcedure, body: string): unknown {
  let decoded: unknown;
  try {
    decoded = procedure.input.decode(body);
  } catch (error) {
    if (error instanceof RpcError) throw error; // a codec's own code, kept as the validator's is
    throw new RpcError('INVALID_ARGUMENT', `the request body cannot be read: ${messageOf(error)}`);
  }
  const { validate } = procedure;
  // A schema first: some (ArkType's) are functions too, which return their errors rather than throw.
  if (isStandardSchema(validate)) {
    let result: ReturnType<(typeof validate)['~standard']['validate']>;
    try {
      result = validate['~standard'].validate(decoded);
    } catch (error) {
      return schemaFailed(error);
    }
    return isThenable(result) ? Promise.resolve(result).then(schemaOutcome, schemaFailed) : schemaOutcome(result);
  }
  try {
    const checked = (validate as (input: unknown) => unknown)(decoded);
    return isThenable(checked) ? Promise.resolve(checked).catch(refused) : checked;
  } catch (error) {
    return refused(error);
  }
}

function isStandardSchema(validate: unknown): validate is StandardSchemaV1<unknown, unknown> {
  const standard = (validate as { '~standard'?: unknown } | null)?.['~standard'];
  return typeof standard === 'object' && standard !== null;
}

/** A promise of any kind (a library's own thenable too), which a handler or validator may return. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** What a validator threw, as the caller gets it: its own RpcError, or INVALID_ARGUMENT. */
function refused(error: unknown): never {
  throw error instanceof RpcError ? error : new RpcError('INVALID_ARGUMENT', messageOf(error));
}

/**
 * A schema that threw rather than returned its issues: a bug in the schema (the Standard Schema
 * interface reports every invalid input as issues), so INTERNAL, not the caller's fault.
 */
function schemaFailed(error: unknown): never {
  throw error instanceof RpcError ? error : new RpcError('INTERNAL', `the input's schema failed: ${messageOf(error)}`);
}

/** Issues shown in an INVALID_ARGUMENT message; the rest are counted. */
const SHOWN_ISSUES = 5;

/** A Standard Schema's result: the value, or INVALID_ARGUMENT with the first issues. */
function schemaOutcome(result: StandardResult<unknown>): unknown {
  if (result.issues === undefined) return result.value;
  const shown = result.issues.slice(0, SHOWN_ISSUES).map((issue) => {
    const path = issue.path
      ?.map((part) => String(typeof part === 'object' && part !== null ? part.key : part))
      .join('.');
    const message = issue.message || 'invalid';
    return path ? `${path}: ${message}` : message;
  });
  const more = result.issues.length - shown.length;
  const message = shown.length === 0 ? 'invalid input' : shown.join('; ');
  throw new RpcError('INVALID_ARGUMENT', more > 0 ? `${message} (and ${more} more)` : message);
}

// biome-ignore-start lint/correctness/noUnusedVariables: inference placeholders
/** What a caller passes to a procedure. */
export type InputOf<P> = P extends Procedure<infer Input, infer _C, infer _O, infer _K, infer _P> ? Input : never;
/** What the handler gets, validated. */
export type CheckedOf<P> = P extends Procedure<infer _I, infer Checked, infer _O, infer _K, infer _P> ? Checked : never;
/** What a caller gets back (each item, for a stream). */
export type OutputOf<P> = P extends Procedure<infer _I, infer _C, infer Output, infer _K, infer _P> ? Output : never;
/** What the handler returns (each item, for a stream). */
export type ProducedOf<P> =
  P extends Procedure<infer _I, infer _C, infer _O, infer _K, infer Produced> ? Produced : never;
/** 'call' or 'stream'. */
export type KindOf<P> = P extends Procedure<infer _I, infer _C, infer _O, infer Kind, infer _P> ? Kind : never;
// biome-ignore-end lint/correctness/noUnusedVariables: inference placeholders

/** A service definition's procedures, by name. */
export type ProceduresOf<S> = S extends ServiceDefinition<infer P> ? P : never;
/**
 * The names of a definition's procedures of one kind (`'call'`, `'stream'`, or both by default):
 * what ServiceClient.call() and stream() take, for code that wraps them (a retry, a hook).
 */
export type ProcedureNames<S, Kind extends 'call' | 'stream' = 'call' | 'stream'> = keyof ProceduresOfKind<S, Kind> &
  string;
/** A definition's procedures of one kind, by name. */
export type ProceduresOfKind<S, Kind extends 'call' | 'stream'> = {
  [K in keyof ProceduresOf<S> as KindOf<ProceduresOf<S>[K]> extends Kind ? K : never]: ProceduresOf<S>[K];
};
