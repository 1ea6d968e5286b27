#!/usr/bin/env node
// `npm run server`: one Fibonacci server in the foreground, the tutorial's rpc_server. Ctrl-C
// (SIGINT) or SIGTERM stops it cleanly: no new requests, those in hand finish, then it exits.
import { parseArgs } from 'node:util';
import { ENVIRONMENT, fibonacciService, isRpcError } from '@stomp-rpc/client';
import {
  CONNECTION_FLAGS,
  optionsFromCommandLine,
  parseDurationFlag,
  parseWholeFlag,
} from '@stomp-rpc/client/internal';
import { SERVER_DEFAULTS } from './defaults.js';
import { fibonacciImplementation } from './fibonacci-service.js';
import { createLogger, LOG_LEVELS, type Logger, type LogLevel } from './logger.js';
import { ServerMetrics } from './metrics.js';
import type { RpcServer } from './rpc-server.js';
import { serveService } from './service-server.js';
import { WorkerPool } from './worker-pool.js';

const USAGE = `usage: stomp-rpc-server [options]

Serves fib(n) on a RabbitMQ queue over Web-STOMP until stopped with Ctrl-C or SIGTERM.

options:
  --url <ws-url>        Web-STOMP URL (repeat or comma-separate to fail over)
  --login <user>        broker user
  --passcode <password> broker password
  --vhost <vhost>       RabbitMQ virtual host
  --queue <name>        request queue
  --queue-profile <name>
                        how the queue is declared (every party must agree): tutorial (default,
                        non-durable classic queue) or replicated (quorum queue, for a cluster)
  --durable             declare the tutorial's queue durable (every party must agree)
  --prefetch <count>    requests held at once, 1 to 65535 (default ${SERVER_DEFAULTS.prefetch}, chosen by measurement:
                        BENCHMARKS.md "Prefetch"; 1 is the tutorial's fair dispatch)
  --max-n <n>           largest n served (default ${SERVER_DEFAULTS.maxN})
  --workers <count>     worker threads for large n, 1 to 256 (default: cores less one, at least 1)
  --grace-ms <ms>       on SIGINT/SIGTERM, time to finish requests in hand before they are
                        handed back to the broker (default ${SERVER_DEFAULTS.graceMs}); a second signal exits at once
  --presence-ms <ms>    how often the server announces itself to clients (default ${SERVER_DEFAULTS.presenceMs}; 0: never, else 100 to 3600000;
                        clients still get answers, but --servers and --fail-fast do not see it)
  --metrics-port <port> serve Prometheus metrics at http://<metrics-host>:<port>/metrics
  --metrics-host <host> address the metrics endpoint binds (default 127.0.0.1)
  --log-level <level>   ${LOG_LEVELS.join(' | ')} (default info; debug logs every request)
  -h, --help            this text

environment:
${Object.entries(ENVIRONMENT)
  .map(([name, meaning]) => `  ${name.padEnd(22)}${meaning}`)
  .join('\n')}
`;

/** A count flag, by the client's rule for whole-number flags. */
function numberOption(
  name: string,
  value: string | undefined,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  return value === undefined ? fallback : parseWholeFlag(`--${name}`, value, min, max);
}

/** Worker threads beyond this are a typo, not a machine (each is a V8 isolate). */
const MAX_WORKERS = 256;

/** A duration flag, by the client's rule for every duration (0 allowed: no grace, no presence). */
function durationOption(flag: string, value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : parseDurationFlag(flag, value, 0);
}

/** Reads the command line; throws with a message for people when it is not valid. */
function parseCommandLine(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      ...CONNECTION_FLAGS,
      prefetch: { type: 'string' },
      'max-n': { type: 'string' },
      workers: { type: 'string' },
      'grace-ms': { type: 'string' },
      'presence-ms': { type: 'string' },
      'metrics-port': { type: 'string' },
      'metrics-host': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const logLevel = values['log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(logLevel as LogLevel))
    throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  return {
    values,
    connection: optionsFromCommandLine(values, process.env),
    logLevel: logLevel as LogLevel,
    prefetch: numberOption('prefetch', values.prefetch, SERVER_DEFAULTS.prefetch, 1, 65_535), // AMQP's limit
    maxN: numberOption('max-n', values['max-n'], SERVER_DEFAULTS.maxN),
    graceMs: durationOption('--grace-ms', values['grace-ms'], SERVER_DEFAULTS.graceMs),
    presenceMs: durationOption('--presence-ms', values['presence-ms'], SERVER_DEFAULTS.presenceMs),
    metricsPort:
      values['metrics-port'] === undefined
        ? undefined
        : numberOption('metrics-port', values['metrics-port'], 0, 0, 65_535),
    workers: values.workers === undefined ? undefined : numberOption('workers', values.workers, 1, 1, MAX_WORKERS),
  };
}

type CommandLine = NonNullable<ReturnType<typeof parseCommandLine>>;

/** The server the command line describes, with its worker pool and metrics endpoint. */
async function assemble(commandLine: CommandLine) {
  const { values, connection, logLevel, prefetch, maxN, workers, presenceMs, metricsPort } = commandLine;
  const logger = createLogger(logLevel);
  const pool = new WorkerPool({
    ...(workers === undefined ? {} : { size: workers }),
    onGiveUp: (cause) =>
      logger.error(
        { reason: cause.message },
        'worker threads keep dying: computing fib(n) on the event loop from now on',
      ),
  });
  const { queue } = connection;
  let server: RpcServer | undefined;
  const metrics =
    metricsPort === undefined ? undefined : new ServerMetrics({ queue, inFlight: () => server?.stats.inFlight ?? 0 });
  let metricsEndpoint: Awaited<ReturnType<ServerMetrics['serve']>> | undefined;
  const release = () => Promise.all([pool.close(), metricsEndpoint?.close()]).then(() => {});
  try {
    if (metrics && metricsPort !== undefined) {
      metricsEndpoint = await metrics.serve(metricsPort, values['metrics-host']);
      logger.info({ url: metricsEndpoint.url }, 'serving metrics');
    }
    server = serveService(fibonacciService, fibonacciImplementation({ maxN, pool }), {
      ...connection,
      prefetch,
      presenceMs,
      logger,
      ...(metrics ? { observer: metrics } : {}),
    });
  } catch (error) {
    await release();
    throw error;
  }
  return { server, logger, release };
}

/**
 * Resolves once the server stopped: the first SIGINT or SIGTERM drains it, a second exits at once.
 * Started by `npm start` (scripts/start.mjs), the server is in a process group of its own with an
 * IPC channel to start.mjs, which passes on Ctrl-C; the channel closing means start.mjs is gone
 * (even killed with SIGKILL), so the server stops as on a first signal. The channel is unref'd, so
 * it keeps no stopped server alive.
 */
function untilStopped(server: RpcServer, logger: Logger, graceMs: number, release: () => Promise<void>) {
  /** Resolves with whether the server and what it used stopped cleanly. */
  return new Promise<boolean>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now; the broker requeues what was in hand');
        process.exit(130);
      }
      stopping = true;
      logger.info({ signal, graceMs }, 'stopping');
      const failed = (what: string) => (error: unknown) => {
        logger.error({ error: String(error) }, `${what} failed`);
        return false;
      };
      server
        .stop(graceMs)
        .then(() => true, failed('stop'))
        .then((stoppedCleanly) => release().then(() => stoppedCleanly, failed('release')))
        .then(resolve);
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    if (process.channel) {
      process.channel.unref();
      process.once('disconnect', () => {
        if (!stopping) stop('disconnect');
      });
    }
  });
}

async function main(): Promise<number> {
  let commandLine: CommandLine | undefined;
  try {
    commandLine = parseCommandLine(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`stomp-rpc-server: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (commandLine === undefined) {
    process.stdout.write(USAGE); // --help, whatever else the command line says
    return 0;
  }
  let assembled: Awaited<ReturnType<typeof assemble>>;
  try {
    assembled = await assemble(commandLine);
  } catch (error) {
    // An option the server itself refuses (--presence-ms 50) is a usage error; anything else failed
    // on this machine (a port in use, say).
    process.stderr.write(`stomp-rpc-server: ${(error as Error).message}\n`);
    return isRpcError(error) && error.code === 'INVALID_ARGUMENT' ? 2 : 1;
  }
  const { server, logger, release } = assembled;
  const stopped = untilStopped(server, logger, commandLine.graceMs, release);
  // The server keeps retrying while the broker is away; it never exits because of it.
  server.start().catch((error: Error) => logger.warn({ reason: error.message }, 'not connected yet; still trying'));
  return (await stopped) ? 0 : 1;
}

process.exitCode = await main();
