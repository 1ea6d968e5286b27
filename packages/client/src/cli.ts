#!/usr/bin/env node
// `npm run client -- 30`: the tutorial's rpc_client, as a command. Exit 0 with the answer,
// 1 with the reason on a line (its error code first; a hint may follow), 2 for a usage error,
// 130 or 143 when stopped by SIGINT or SIGTERM (the call is cancelled, on the server too).
// `npm run client -- --servers`: the live servers and their counters, as a table.
// `npm run client -- --sequence 10 20`: fib(10..20), each printed as it arrives (a streamed reply).
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { CLIENT_DEFAULTS } from './defaults.js';
import { CONNECTION_FLAGS, ENVIRONMENT, INFO_FLAGS, optionsFromCommandLine, printInfo, usageMessage } from './env.js';
import { isRpcError, RpcError } from './errors.js';
import { checkName, MAX_NAME_BYTES, parseDurationFlag } from './options.js';
import { encodeN } from './protocol/fibonacci.js';
import type { ServerInfo } from './protocol/presence.js';
import { resolveQueueDeclaration } from './protocol/queue-profile.js';
import { queueDeclarationHeaders } from './protocol/wire.js';
import { newSignalCheck } from './repeated-signal.js';
import { type FibonacciClientOptions, FibonacciRpcClient } from './services/fibonacci-client.js';
import { checkRange, MAX_SEQUENCE_LENGTH, MAX_SEQUENCE_N } from './services/fibonacci-definition.js';
import { isFatalStompClose } from './transport/end-reason.js';

const USAGE = `usage: stomp-rpc-client [options] <n>
       stomp-rpc-client [options] --sequence <from> <to>
       stomp-rpc-client [options] --servers

Asks a Fibonacci server for fib(n) over RabbitMQ Web-STOMP and prints it: any server on the
queue answers, ours or the tutorial's. When nothing answers the queue by the deadline and no
server announced itself, it fails with NO_SERVERS (--fail-fast: at once, without sending).
--sequence streams fib(from..to) from our servers, one line per number as it arrives (at most
${MAX_SEQUENCE_LENGTH} numbers, to at most ${MAX_SEQUENCE_N}). --servers lists the live servers and their
counters instead.

options:
  --url <ws-url>          Web-STOMP URL (repeat or comma-separate to fail over)
  --login <user>          broker user
  --passcode <password>   broker password
  --vhost <vhost>         RabbitMQ virtual host
  --queue <name>          request queue: 1 to ${MAX_NAME_BYTES} bytes, no '/' (default ${CLIENT_DEFAULTS.queue})
  --queue-profile <name>  how the queue is declared, as the servers do: tutorial (default)
                          or replicated (quorum queue, for a cluster)
  --durable               the tutorial's queue declared durable, for servers run with --durable
  --timeout-ms <ms>       deadline of the call, counted once connected (default ${CLIENT_DEFAULTS.timeoutMs})
  --connect-timeout-ms <ms>  how long to wait for the first connection before giving up
                          (default ${CLIENT_DEFAULTS.connectTimeoutMs}; each URL of a list gets its share)
  --fail-fast             fail at once with NO_SERVERS when no server announced itself, without
                          sending (for when every server announces itself; the tutorial's
                          servers do not)
  --wait-for-server       the default: send even when no server announced itself
  --exchange <name>       send through this exchange (routing key: the queue) instead of
                          declaring the queue, and the pings and cancels too (routing keys
                          rpc.ping, rpc.cancel: it must route them on to amq.topic): 1 to 255
                          bytes, no '/'; the browser user rpc-browser needs --exchange rpc
  --no-presence           never ask or listen which servers are there (for a broker user that may
                          not write rpc.ping): a call nothing answers is TIMEOUT, not NO_SERVERS;
                          not with --servers or --fail-fast
  --no-cancels            send no cancels on rpc.cancel (for a broker user that may not write it):
                          a call stopped by a signal or timed out runs on at the server
  --sequence              stream fib(from..to) instead of one fib(n)
  --servers               list the live servers (all queues) and exit
  -h, --help              this text
  --version               the version of @stomp-rpc/client

environment:
${Object.entries(ENVIRONMENT)
  .map(([name, meaning]) => `  ${name.padEnd(24)}${meaning}`)
  .join('\n')}
`;

class UsageError extends Error {}

const CLIENT_VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** --fail-fast, --wait-for-server, --no-presence and --no-cancels, as the client's options. */
function presenceOptions(
  values: { 'fail-fast'?: boolean; 'wait-for-server'?: boolean; 'no-presence'?: boolean; 'no-cancels'?: boolean },
  listServers: boolean,
) {
  const failFast = values['fail-fast'] ?? false;
  if (failFast && values['wait-for-server'])
    throw new UsageError('--fail-fast and --wait-for-server contradict each other');
  const presence = !values['no-presence'];
  if (!presence && listServers) throw new UsageError('--servers asks the servers who is there: not with --no-presence');
  if (!presence && failFast) throw new UsageError('--fail-fast needs presence: not with --no-presence');
  return { whenNoServers: failFast ? 'fail' : 'wait', presence, cancels: !values['no-cancels'] } as const;
}

/** A duration flag (options.ts), as a usage error. */
function milliseconds(flag: string, value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : usable(() => parseDurationFlag(flag, value));
}

const FLAGS = {
  ...CONNECTION_FLAGS,
  'timeout-ms': { type: 'string' },
  'connect-timeout-ms': { type: 'string' },
  exchange: { type: 'string' },
  'wait-for-server': { type: 'boolean' },
  'fail-fast': { type: 'boolean' },
  'no-presence': { type: 'boolean' },
  'no-cancels': { type: 'boolean' },
  servers: { type: 'boolean' },
  sequence: { type: 'boolean' },
  ...INFO_FLAGS,
} as const;
/** Flags followed by a value, as written on the command line. */
const VALUE_FLAGS = new Set(
  Object.entries(FLAGS)
    .filter(([, option]) => option.type === 'string')
    .map(([name]) => `--${name}`),
);

function readArgs(argv: readonly string[]) {
  // "-5" as n reads as an option to parseArgs; say what it is instead (unless it is a flag's value).
  const optionsEnd = argv.indexOf('--');
  const negative = (optionsEnd < 0 ? argv : argv.slice(0, optionsEnd)).find(
    (arg, i) => /^-[0-9]/.test(arg) && !VALUE_FLAGS.has(argv[i - 1] ?? ''),
  );
  if (negative !== undefined) {
    const what = argv.includes('--sequence')
      ? '<from> and <to> must be whole numbers'
      : 'n must be a non-negative integer';
    throw new UsageError(`${what}, got ${negative}`);
  }
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: FLAGS,
    });
  } catch (error) {
    throw new UsageError(usageMessage((error as Error).message));
  }
}

/** Reads the command line; 'help' or 'version' for those flags. Throws UsageError with a message for people. */
function parse(argv: readonly string[]) {
  const { values, positionals } = readArgs(argv);
  if (values.help) return 'help';
  if (values.version) return 'version';
  const range = values.sequence ? sequenceRange(positionals) : undefined;
  if (!range && positionals.length > 1) throw new UsageError(`one n at a time (got ${positionals.join(' and ')})`);
  const n = positionals[0];
  const listServers = values.servers ?? false;
  if (listServers && range) throw new UsageError('--servers and --sequence cannot go together');
  if (listServers && n !== undefined) throw new UsageError('--servers takes no n');
  if (!listServers && n === undefined) throw new UsageError('n is missing');
  if (n !== undefined && !range) usable(() => encodeN(n)); // "abc", "1e3", " 5": before connecting
  let options: ReturnType<typeof optionsFromCommandLine>;
  try {
    options = optionsFromCommandLine(values, process.env);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return {
    options,
    timeoutMs: milliseconds('--timeout-ms', values['timeout-ms'], CLIENT_DEFAULTS.timeoutMs),
    connectTimeoutMs: milliseconds(
      '--connect-timeout-ms',
      values['connect-timeout-ms'],
      CLIENT_DEFAULTS.connectTimeoutMs,
    ),
    n,
    presenceOptions: presenceOptions(values, listServers),
    listServers,
    range,
    exchange:
      values.exchange === undefined ? undefined : usable(() => checkName(values.exchange as string, '--exchange')),
  };
}

/**
 * Each connection attempt's limit, so that within the wait for the first connection every URL of
 * a list gets its turn: a node that accepts and never answers must not use up the whole wait. At
 * least a second (or the whole wait, if shorter): a healthy node slow to answer must still get in.
 */
function attemptTimeoutMs(waitMs: number, url: string | readonly string[] | undefined): number {
  const urls = Array.isArray(url) ? url.length : 1;
  const share = Math.max(Math.min(waitMs, 1000), Math.floor(waitMs / urls));
  return Math.min(CLIENT_DEFAULTS.connectTimeoutMs, share);
}

/** The <from> <to> of --sequence, as whole numbers within the service's bounds. */
function sequenceRange(positionals: readonly string[]): { from: number; to: number } {
  const [from, to] = positionals.map(Number);
  // Past the digits, checkRange says what the bounds are.
  if (positionals.length !== 2 || !positionals.every((value) => /^(0|[1-9][0-9]*)$/.test(value))) {
    throw new UsageError(`--sequence takes <from> <to>, two whole numbers (got ${positionals.join(' ') || 'none'})`);
  }
  const range = { from: from as number, to: to as number };
  usable(() => checkRange(range));
  return range;
}

/** Runs a check of the library's own and returns its result; what it refuses is a usage error. */
function usable<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`stomp-rpc-client: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed === 'help' || parsed === 'version') {
    printInfo(parsed === 'help' ? USAGE : `${CLIENT_VERSION}\n`);
    return 0;
  }
  const { options, timeoutMs, connectTimeoutMs, n, listServers, range, exchange } = parsed;
  let client: FibonacciRpcClient;
  try {
    client = new FibonacciRpcClient({
      ...options,
      connectTimeoutMs: attemptTimeoutMs(connectTimeoutMs, options.url),
      timeoutMs,
      ...(exchange === undefined ? {} : { exchange }),
      ...parsed.presenceOptions,
    });
  } catch (error) {
    process.stderr.write(`stomp-rpc-client: ${describe(error)}\n`);
    return 2;
  }
  const stop = stopOnSignalOrClosedOutput(client);
  try {
    if (listServers) {
      await client.ready(connectTimeoutMs);
      const servers = await client.discoverServers(LISTING_WAIT_MS);
      if (servers.length === 0) throw new RpcError('NO_SERVERS', 'no live server announced itself');
      process.stdout.write(serverTable(servers));
      return 0;
    }
    if (range) {
      await client.ready(connectTimeoutMs);
      for await (const item of client.sequence(range.from, range.to, { signal: stop.signal }))
        process.stdout.write(` [.] fib(${item.n}) = ${item.value}\n`);
      return 0;
    }
    process.stdout.write(` [x] Requesting fib(${n})\n`);
    await client.ready(connectTimeoutMs);
    const result = await client.call(n as string, { signal: stop.signal });
    process.stdout.write(` [.] Got ${result}\n`);
    return 0;
  } catch (error) {
    if (stop.exitCode === 0) return 0; // the reader of the output left (| head): nothing more to say
    // Stopped by a signal: say so, not what it caused (CLOSED, say, while connecting).
    process.stderr.write(`stomp-rpc-client: ${describe(stop.exitCode === undefined ? error : stop.signal.reason)}\n`);
    const hint = stop.exitCode === undefined && exchange === undefined ? failureHint(error, parsed) : undefined;
    if (hint) process.stderr.write(`stomp-rpc-client: ${hint}\n`);
    return stop.exitCode ?? 1;
  } finally {
    stop.dispose();
    await client.close();
  }
}

/**
 * SIGINT and SIGTERM cancel the call under way, on the server too (a signal's default would end
 * the process with the request still being computed), then the command exits 130 or 143; a second
 * one exits at once (the first delivered again at once is not one: repeated-signal.ts). A reader of
 * the output that left (`| head`) stops a sequence the same way, and the command exits 0, as it
 * would have had it been asked for fewer numbers.
 */
function stopOnSignalOrClosedOutput(client: FibonacciRpcClient) {
  const controller = new AbortController();
  const state = { exitCode: undefined as number | undefined };
  const stopWith = (exitCode: number, reason: string) => {
    if (state.exitCode !== undefined) process.exit(exitCode);
    state.exitCode = exitCode;
    controller.abort(new RpcError('ABORTED', reason));
    void client.close(); // a wait for the connection, or for the servers' answers, ends too
  };
  const isNew = newSignalCheck();
  const onSignal = (signal: NodeJS.Signals) => {
    if (isNew(signal)) stopWith(signal === 'SIGINT' ? 130 : 143, `stopped by ${signal}`);
  };
  const onOutputError = (error: NodeJS.ErrnoException) => {
    if (state.exitCode === 0) return; // writes after the reader left fail too
    if (error.code !== 'EPIPE') throw error;
    if (state.exitCode === undefined) stopWith(0, 'the output was closed');
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  process.stdout.on('error', onOutputError);
  return {
    signal: controller.signal,
    get exitCode() {
      return state.exitCode;
    },
    /** Signals have their default effect again; the output's errors stay handled (writes may still fail). */
    dispose() {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    },
  };
}

/** How long --servers waits for the answers to its ping, at least (discoverServers() waits on for a late RECEIPT). */
const LISTING_WAIT_MS = 500;

/**
 * Live servers as an aligned text table, one row per server, then, for services, one row per
 * server and procedure.
 */
export function serverTable(servers: readonly ServerInfo[], now = Date.now()): string {
  const header = [
    'ID',
    'QUEUE',
    'HOST',
    'PID',
    'VERSION',
    'PREFETCH',
    'IN FLIGHT',
    'REQUESTS',
    'ERRORS',
    'AVG MS',
    'P99 MS',
    'UP',
  ];
  const rows = servers.map((server) => {
    const { stats } = server;
    const upSeconds = Math.max(0, Math.round((now - Date.parse(server.startedAt)) / 1000));
    return [
      server.id,
      server.queue,
      server.host,
      String(server.pid),
      server.version,
      String(server.prefetch),
      String(server.inFlight),
      String(stats.requests),
      String(errorCount(stats.errors)),
      stats.processingMs.average.toFixed(2),
      stats.latency.p99Ms.toFixed(2),
      Number.isFinite(upSeconds) ? `${upSeconds}s` : '?',
    ];
  });
  const procedures = procedureRows(servers);
  const procedureHeader = ['ID', 'PROCEDURE', 'REQUESTS', 'ERRORS', 'CANCELLED', 'AVG MS'];
  return alignedTable(header, rows) + (procedures.length > 0 ? `\n${alignedTable(procedureHeader, procedures)}` : '');
}

/** One row per server and procedure, for servers of a service. */
function procedureRows(servers: readonly ServerInfo[]): string[][] {
  return servers.flatMap((server) =>
    Object.entries(server.stats.procedures ?? {}).map(([name, stats]) => [
      server.id,
      name,
      String(stats.requests),
      String(errorCount(stats.errors)),
      String(stats.cancelled),
      (stats.requests === 0 ? 0 : stats.processingMs / stats.requests).toFixed(2),
    ]),
  );
}

function errorCount(errors: Partial<Record<string, number>>): number {
  return Object.values(errors).reduce<number>((sum, count) => sum + (count ?? 0), 0);
}

/** Rows under a header, each column as wide as its widest cell. */
function alignedTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
  );
  const line = (cells: string[]) =>
    `${cells
      .map((cell, column) => cell.padEnd(widths[column] as number))
      .join('  ')
      .trimEnd()}\n`;
  return [header, ...rows].map(line).join('');
}

/**
 * What to check when the broker closed the connection for a fatal error and this command declares
 * its queue: RabbitMQ does so (over Web-STOMP on 3.10 without saying why) when the queue exists
 * with other arguments, as when the servers were started with --durable and the command was not.
 */
function declarationHint(error: unknown, options: FibonacciClientOptions): string | undefined {
  if (!causeChain(error).some(isFatalStompClose)) return undefined;
  const headers = queueDeclarationHeaders(resolveQueueDeclaration(options.queueDeclaration));
  const declared = Object.entries(headers).map(([name, value]) => `${name}:${value}`);
  return (
    `this command declares ${options.queue ?? CLIENT_DEFAULTS.queue} (${declared.join(', ')}); if the queue exists ` +
    'with other arguments, RabbitMQ refuses that (precondition_failed): give --durable or --queue-profile as the servers have them; ' +
    'if this user may not declare or write to it (access_refused, as rpc-browser), call through an exchange (--exchange rpc)'
  );
}

/** What to check when the broker closed the connection for a fatal error: for --servers, or for a call. */
function failureHint(
  error: unknown,
  { listServers, options }: { listServers: boolean; options: FibonacciClientOptions },
) {
  return listServers ? pingHint(error) : declarationHint(error, options);
}

/** What to check when the broker closed the connection as --servers asked who is there. */
function pingHint(error: unknown): string | undefined {
  if (!causeChain(error).some(isFatalStompClose)) return undefined;
  return (
    'RabbitMQ closes the connection of a user who may not publish the question to amq.topic (access_refused): ' +
    'a user such as rpc-browser asks through an exchange (--exchange rpc)'
  );
}

/** The error and its causes, a few links deep: a TIMEOUT after retries carries the close that failed them. */
function causeChain(error: unknown): RpcError[] {
  const chain: RpcError[] = [];
  for (let link = error; isRpcError(link) && chain.length < 4; link = link.cause) chain.push(link);
  return chain;
}

/** One line: the error code first, so scripts can branch on it. */
function describe(error: unknown): string {
  return isRpcError(error) ? `${error.code}: ${error.message}` : String(error);
}

process.exitCode = await main(process.argv.slice(2));
