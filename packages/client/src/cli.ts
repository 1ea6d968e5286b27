#!/usr/bin/env node
// `npm run client -- 30`: the tutorial's rpc_client, as a command. Exit 0 with the answer,
// 1 with a one-line reason (its error code first), 2 for a usage error.
import { ENVIRONMENT, optionsFromEnvironment } from './env.js';
import { isRpcError } from './errors.js';
import { FibonacciRpcClient } from './fibonacci-client.js';

const USAGE = `usage: stomp-rpc-client [options] <n>

Asks a Fibonacci server for fib(n) over RabbitMQ Web-STOMP and prints it.

options:
  --url <ws-url>          Web-STOMP URL (repeat or comma-separate to fail over)
  --login <user>          broker user
  --passcode <password>   broker password
  --vhost <vhost>         RabbitMQ virtual host
  --queue <name>          request queue
  --timeout-ms <ms>       deadline of the call (default 10000)
  --connect-timeout-ms <ms>  give up when the broker cannot be reached (default 5000)
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
  '--timeout-ms',
  '--connect-timeout-ms',
]);

function parse(argv: readonly string[]) {
  const options = optionsFromEnvironment(process.env);
  const urls: string[] = [];
  let timeoutMs = 10_000;
  let connectTimeoutMs = 5000;
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
    const equals = arg.indexOf('=');
    const flag = equals < 0 ? arg : arg.slice(0, equals);
    const inline = equals < 0 ? undefined : arg.slice(equals + 1);
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
      case '--timeout-ms':
        timeoutMs = milliseconds(flag, value);
        break;
      default: // --connect-timeout-ms
        connectTimeoutMs = milliseconds(flag, value);
    }
  }
  if (n === undefined) throw new UsageError('n is missing');
  if (urls.length > 0) options.url = urls;
  return { options, timeoutMs, connectTimeoutMs, n };
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
  const { options, timeoutMs, connectTimeoutMs, n } = parsed;
  let client: FibonacciRpcClient;
  try {
    client = new FibonacciRpcClient({ ...options, timeoutMs });
  } catch (error) {
    process.stderr.write(`stomp-rpc-client: ${describe(error)}\n`);
    return 2;
  }
  try {
    process.stdout.write(` [x] Requesting fib(${n})\n`);
    await client.ready(connectTimeoutMs);
    const result = await client.call(n);
    process.stdout.write(` [.] Got ${result}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`stomp-rpc-client: ${describe(error)}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

/** One line: the error code first, so scripts can branch on it. */
function describe(error: unknown): string {
  return isRpcError(error) ? `${error.code}: ${error.message}` : String(error);
}

process.exitCode = await main(process.argv.slice(2));
