#!/usr/bin/env node
// `npm run client -- 30`: the tutorial's rpc_client, as a command. Exit 0 with the answer,
// 1 with a one-line reason (its error code first), 2 for a usage error.
// `npm run client -- --servers`: the live servers and their counters, as a table.
import { ENVIRONMENT, optionsFromEnvironment } from './env.js';
import { isRpcError, RpcError } from './errors.js';
import type { ServerInfo } from './protocol/presence.js';
import type { QueueProfile } from './protocol/queue-profile.js';
import { FibonacciRpcClient } from './services/fibonacci-client.js';

const USAGE = `usage: stomp-rpc-client [options] <n>
       stomp-rpc-client [options] --servers

Asks a Fibonacci server for fib(n) over RabbitMQ Web-STOMP and prints it. With no server
running it fails at once with NO_SERVERS (servers announce themselves; see --wait-for-server).
--servers lists the live servers and their counters instead.

options:
  --url <ws-url>          Web-STOMP URL (repeat or comma-separate to fail over)
  --login <user>          broker user
  --passcode <password>   broker password
  --vhost <vhost>         RabbitMQ virtual host
  --queue <name>          request queue
  --queue-profile <name>  how the queue is declared, as the servers do: tutorial (default)
                          or replicated (quorum queue, for a cluster)
  --timeout-ms <ms>       deadline of the call (default 10000)
  --connect-timeout-ms <ms>  give up when the broker cannot be reached (default 5000)
  --wait-for-server       send the call even when no server announced itself, and wait for
                          one until the deadline (for servers without presence, e.g. the
                          tutorial's own)
  --exchange <name>       send through this exchange (routing key: the queue) instead of
                          declaring the queue; the browser user rpc-browser needs --exchange rpc
  --servers               list the live servers (all queues) and exit
  -h, --help              this text

environment:
${Object.entries(ENVIRONMENT)
  .map(([name, meaning]) => `  ${name.padEnd(24)}${meaning}`)
  .join('\n')}
`;

class UsageError extends Error {}

function milliseconds(flag: string, value: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 1 || ms > 2 ** 31 - 1)
    throw new UsageError(`${flag} takes whole milliseconds, got ${value}`);
  return ms;
}

const VALUE_FLAGS = new Set([
  '--url',
  '--login',
  '--passcode',
  '--vhost',
  '--queue',
  '--queue-profile',
  '--timeout-ms',
  '--connect-timeout-ms',
  '--exchange',
]);
const SWITCHES = new Set(['--wait-for-server', '--servers']);

function parse(argv: readonly string[]) {
  const options = optionsFromEnvironment(process.env);
  const urls: string[] = [];
  let timeoutMs = 10_000;
  let connectTimeoutMs = 5000;
  let waitForServer = false;
  let listServers = false;
  let exchange: string | undefined;
  let n: string | undefined;
  let optionsEnded = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--' && !optionsEnded) {
      optionsEnded = true;
      continue;
    }
    if (!optionsEnded && (arg === '-h' || arg === '--help')) return undefined;
    if (optionsEnded || !arg.startsWith('--')) {
      if (n !== undefined) throw new UsageError(`one n at a time (got ${n} and ${arg})`);
      n = arg;
      continue;
    }
    if (arg === '--wait-for-server') {
      waitForServer = true;
      continue;
    }
    if (arg === '--servers') {
      listServers = true;
      continue;
    }
    const equals = arg.indexOf('=');
    const flag = equals < 0 ? arg : arg.slice(0, equals);
    const inline = equals < 0 ? undefined : arg.slice(equals + 1);
    if (SWITCHES.has(flag)) throw new UsageError(`${flag} takes no value`);
    if (!VALUE_FLAGS.has(flag)) throw new UsageError(`unknown option ${flag}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    switch (flag) {
      case '--url':
        urls.push(...value.split(',').map((url) => url.trim()));
        break;
      case '--login':
        options.login = value;
        break;
      case '--passcode':
        options.passcode = value;
        break;
      case '--vhost':
        options.vhost = value;
        break;
      case '--queue':
        options.queue = value;
        break;
      case '--queue-profile':
        options.queueDeclaration = value as QueueProfile; // checked by the client's constructor
        break;
      case '--timeout-ms':
        timeoutMs = milliseconds(flag, value);
        break;
      case '--exchange':
        exchange = value;
        break;
      default: // --connect-timeout-ms
        connectTimeoutMs = milliseconds(flag, value);
    }
  }
  if (listServers && n !== undefined) throw new UsageError('--servers takes no n');
  if (!listServers && n === undefined) throw new UsageError('n is missing');
  if (urls.length > 0) options.url = urls;
  return { options, timeoutMs, connectTimeoutMs, n, waitForServer, listServers, exchange };
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
  if (parsed === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { options, timeoutMs, connectTimeoutMs, n, waitForServer, listServers, exchange } = parsed;
  let client: FibonacciRpcClient;
  try {
    client = new FibonacciRpcClient({
      ...options,
      timeoutMs,
      ...(exchange === undefined ? {} : { exchange }),
      whenNoServers: waitForServer ? 'wait' : 'fail',
    });
  } catch (error) {
    process.stderr.write(`stomp-rpc-client: ${describe(error)}\n`);
    return 2;
  }
  try {
    if (listServers) {
      await client.ready(connectTimeoutMs);
      const servers = await client.discoverServers(LISTING_WAIT_MS);
      if (servers.length === 0) throw new RpcError('NO_SERVERS', 'no live server announced itself');
      process.stdout.write(serverTable(servers));
      return 0;
    }
    process.stdout.write(` [x] Requesting fib(${n})\n`);
    await client.ready(connectTimeoutMs);
    const result = await client.call(n as string);
    process.stdout.write(` [.] Got ${result}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`stomp-rpc-client: ${describe(error)}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

/** How long --servers waits for the answers to its ping. */
const LISTING_WAIT_MS = 500;

/** Live servers as an aligned text table, one row per server. */
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
    const errors = Object.values(stats.errors).reduce((sum, count) => sum + (count ?? 0), 0);
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
      String(errors),
      stats.processingMs.average.toFixed(2),
      stats.latency.p99Ms.toFixed(2),
      Number.isFinite(upSeconds) ? `${upSeconds}s` : '?',
    ];
  });
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

/** One line: the error code first, so scripts can branch on it. */
function describe(error: unknown): string {
  return isRpcError(error) ? `${error.code}: ${error.message}` : String(error);
}

process.exitCode = await main(process.argv.slice(2));
