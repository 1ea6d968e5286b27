/*
 * The server's command line: its usage text, and its flags read into checked settings. cli.ts runs
 * the server they describe; every refusal here is a usage error (exit 2) found before connecting.
 */
import { parseArgs } from 'node:util';
import { ENVIRONMENT, RpcError } from '@stomp-rpc/client';
import {
  CONNECTION_FLAGS,
  INFO_FLAGS,
  MAX_NAME_BYTES,
  optionsFromCommandLine,
  parseDurationFlag,
  parseWholeFlag,
  usageMessage,
} from '@stomp-rpc/client/internal';
import { MAX_PREFETCH, PRESENCE_MS_RANGE, SERVER_DEFAULTS } from './defaults.js';
import { MAX_N_LIMIT } from './fibonacci-service.js';
import { LOG_LEVELS, type LogLevel } from './logger.js';
import { MIN_REPLY_BYTES } from './reply-size.js';

/** RabbitMQ's largest `max_message_size` (512 MiB): no broker takes a larger reply. */
const MAX_MESSAGE_BYTES = 512 * 1024 * 1024;

/** Worker threads beyond this are a typo, not a machine (each is a V8 isolate). */
const MAX_WORKERS = 256;

export const USAGE = `usage: stomp-rpc-server [options]

Serves fib(n) on a RabbitMQ queue over Web-STOMP until stopped with Ctrl-C or SIGTERM.

options:
  --url <ws-url>        Web-STOMP URL (repeat or comma-separate to fail over)
  --login <user>        broker user
  --passcode <password> broker password
  --vhost <vhost>       RabbitMQ virtual host
  --queue <name>        request queue: 1 to ${MAX_NAME_BYTES} bytes, no '/'
  --queue-profile <name>
                        how the queue is declared (every party must agree): tutorial (default,
                        non-durable classic queue) or replicated (quorum queue, for a cluster)
  --durable             declare the tutorial's queue durable (every party must agree)
  --prefetch <count>    requests held at once, 1 to 65535 (default ${SERVER_DEFAULTS.prefetch}, chosen by measurement:
                        BENCHMARKS.md "Prefetch"; 1 is the tutorial's fair dispatch)
  --max-n <n>           largest n served, 0 to ${MAX_N_LIMIT} (default ${SERVER_DEFAULTS.maxN}; above about 1215000 the
                        reply is over the default --max-reply-bytes)
  --max-reply-bytes <bytes>
                        largest reply, in bytes of UTF-8, ${MIN_REPLY_BYTES} to ${MAX_MESSAGE_BYTES}; a larger one is INTERNAL
                        (default ${SERVER_DEFAULTS.maxReplyBytes}: under the bundled broker's 256 KiB frame and message
                        limits, web_stomp.ws_opts.max_frame_size and max_message_size; raise all three together)
  --workers <count>     worker threads for large n, 1 to 256 (default: cores less one, at least 1)
  --default-deadline-ms <ms>
                        the deadline of a request that carries none, as the tutorial's clients
                        send none (default ${SERVER_DEFAULTS.defaultDeadlineMs})
  --grace-ms <ms>       on SIGINT/SIGTERM, time to finish requests in hand before they are
                        handed back to the broker (default ${SERVER_DEFAULTS.graceMs}); a second signal exits at once
  --presence-ms <ms>    how often the server announces itself to clients (default ${SERVER_DEFAULTS.presenceMs}; 0: never, else ${PRESENCE_MS_RANGE.min} to ${PRESENCE_MS_RANGE.max};
                        clients still get answers, but --servers and --fail-fast do not see it)
  --no-cancels          do not listen for callers' cancels on rpc.cancel (for a broker user that may
                        not read it): a call its caller gave up on runs to its end or deadline
  --metrics-port <port> serve Prometheus metrics at http://<metrics-host>:<port>/metrics
  --metrics-host <host> address the metrics endpoint binds, with --metrics-port (default 127.0.0.1)
  --log-level <level>   ${LOG_LEVELS.join(' | ')} (default info; debug logs every request)
  -h, --help            this text
  --version             the version of @stomp-rpc/server

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

/** A duration flag, by the client's rule for every duration (0 allowed: no grace, no presence). */
function durationOption(flag: string, value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : parseDurationFlag(flag, value, 0);
}

/** --presence-ms: 0 (never) or within PRESENCE_MS_RANGE, as RpcServer takes it, checked before anything starts. */
function presenceOption(value: string | undefined): number {
  const ms = durationOption('--presence-ms', value, SERVER_DEFAULTS.presenceMs);
  const { min, max } = PRESENCE_MS_RANGE;
  if (ms !== 0 && (ms < min || ms > max)) {
    throw new RpcError('INVALID_ARGUMENT', `--presence-ms takes 0 (never) or ${min} to ${max} ms, got ${ms}`);
  }
  return ms;
}

const FLAGS = {
  ...CONNECTION_FLAGS,
  prefetch: { type: 'string' },
  'max-n': { type: 'string' },
  'max-reply-bytes': { type: 'string' },
  workers: { type: 'string' },
  'grace-ms': { type: 'string' },
  'default-deadline-ms': { type: 'string' },
  'presence-ms': { type: 'string' },
  'no-cancels': { type: 'boolean' },
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
  'log-level': { type: 'string' },
  ...INFO_FLAGS,
} as const;

/**
 * Reads the command line ('help' or 'version' for those flags, whatever else it says); throws with
 * a message for people when it is not valid.
 */
export function parseCommandLine(args: string[], env: Readonly<Record<string, string | undefined>> = process.env) {
  const { values } = readArgs(args);
  if (values.help) return 'help';
  if (values.version) return 'version';
  const logLevel = values['log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(logLevel as LogLevel))
    throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  if (values['metrics-host'] !== undefined && values['metrics-port'] === undefined) {
    throw new RpcError('INVALID_ARGUMENT', '--metrics-host needs --metrics-port (without it no metrics are served)');
  }
  // Node binds '' to every interface: an unset variable in `--metrics-host "$HOST"` must not do that.
  if (values['metrics-host']?.trim() === '') throw new RpcError('INVALID_ARGUMENT', '--metrics-host needs an address');
  const connection = optionsFromCommandLine(values, env);
  return {
    values,
    connection,
    logLevel: logLevel as LogLevel,
    prefetch: numberOption('prefetch', values.prefetch, SERVER_DEFAULTS.prefetch, 1, MAX_PREFETCH),
    maxN: numberOption('max-n', values['max-n'], SERVER_DEFAULTS.maxN, 0, MAX_N_LIMIT),
    maxReplyBytes: numberOption(
      'max-reply-bytes',
      values['max-reply-bytes'],
      SERVER_DEFAULTS.maxReplyBytes,
      MIN_REPLY_BYTES,
      MAX_MESSAGE_BYTES,
    ),
    graceMs: durationOption('--grace-ms', values['grace-ms'], SERVER_DEFAULTS.graceMs),
    defaultDeadlineMs:
      values['default-deadline-ms'] === undefined
        ? SERVER_DEFAULTS.defaultDeadlineMs
        : parseDurationFlag('--default-deadline-ms', values['default-deadline-ms'], 1),
    presenceMs: presenceOption(values['presence-ms']),
    cancels: !values['no-cancels'],
    metricsPort:
      values['metrics-port'] === undefined
        ? undefined
        : numberOption('metrics-port', values['metrics-port'], 0, 0, 65_535),
    workers: values.workers === undefined ? undefined : numberOption('workers', values.workers, 1, 1, MAX_WORKERS),
  };
}

export type CommandLine = Exclude<ReturnType<typeof parseCommandLine>, 'help' | 'version'>;

function readArgs(args: string[]) {
  try {
    return parseArgs({ args, options: FLAGS, strict: true });
  } catch (error) {
    throw new Error(usageMessage((error as Error).message));
  }
}
