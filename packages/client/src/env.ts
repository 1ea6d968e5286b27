import { checkName, parseUrlList } from './options.js';
import type { QueueProfile } from './protocol/queue-profile.js';
import { DEFAULT_QUEUE, type QueueDeclaration } from './protocol/wire.js';
import type { StompConnectionOptions } from './transport/stomp-connection.js';

/** The environment variables both command lines read, with what they configure. */
export const ENVIRONMENT = {
  STOMP_URL:
    'Web-STOMP URL; a comma-separated list (the nodes of a cluster) starts at a random one and fails over to the next (default ws://127.0.0.1:15674/ws)',
  STOMP_LOGIN: 'broker user (default guest)',
  STOMP_PASSCODE: 'broker password (default guest)',
  STOMP_VHOST: 'RabbitMQ virtual host (default /)',
  RPC_QUEUE: `queue the servers consume (default ${DEFAULT_QUEUE})`,
  RPC_QUEUE_PROFILE:
    'how every party declares the queue: tutorial (default) or replicated (quorum queue, for a cluster)',
} as const;

export type EnvironmentOptions = StompConnectionOptions & {
  queue: string;
  queueDeclaration?: QueueDeclaration | QueueProfile;
};

/** Connection options, queue name and profile from `STOMP_*` and `RPC_QUEUE*`, for Node programs. */
export function optionsFromEnvironment(env: Readonly<Record<string, string | undefined>>): EnvironmentOptions {
  const options: EnvironmentOptions = { queue: env.RPC_QUEUE || DEFAULT_QUEUE };
  // An unknown profile name is reported by the client or server it configures.
  if (env.RPC_QUEUE_PROFILE) options.queueDeclaration = env.RPC_QUEUE_PROFILE as QueueProfile;
  if (env.STOMP_URL) {
    options.url = parseUrlList(env.STOMP_URL);
  }
  if (env.STOMP_LOGIN) options.login = env.STOMP_LOGIN;
  if (env.STOMP_PASSCODE) options.passcode = env.STOMP_PASSCODE;
  if (env.STOMP_VHOST) options.vhost = env.STOMP_VHOST;
  return options;
}

/** The flags both command lines take for the broker and the queue, as node:util parseArgs options. */
export const CONNECTION_FLAGS = {
  url: { type: 'string', multiple: true },
  login: { type: 'string' },
  passcode: { type: 'string' },
  vhost: { type: 'string' },
  queue: { type: 'string' },
  'queue-profile': { type: 'string' },
  durable: { type: 'boolean' },
} as const;

/** The flags of both commands that print and exit: the usage text, the package's version. */
export const INFO_FLAGS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

/**
 * Writes what --help or --version prints. A reader that left before reading it (`| head -0`, a
 * closed pipe) is no failure: the command still exits 0, without a stack trace for the EPIPE.
 */
export function printInfo(text: string): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  process.stdout.write(text);
}

/** node:util parseArgs's complaint in the commands' own words (both commands word them alike). */
export function usageMessage(parseArgsMessage: string): string {
  // Node names an option with a short alias by both: "Option '-h, --help' does not take…".
  const option = /'(?:-\w, )?(-[^' ]*)/.exec(parseArgsMessage)?.[1] ?? '';
  if (parseArgsMessage.startsWith('Unknown option')) return `unknown option ${option}`;
  if (parseArgsMessage.includes('argument missing')) return `${option} needs a value`;
  if (parseArgsMessage.includes('does not take an argument')) return `${option} takes no value`;
  if (parseArgsMessage.includes('is ambiguous'))
    return `${option} needs a value (write ${option}=<value> for one starting with -)`;
  return parseArgsMessage;
}

/** What the connection flags gave, as parseArgs returns them. */
export interface ConnectionFlagValues {
  url?: string[] | undefined;
  login?: string | undefined;
  passcode?: string | undefined;
  vhost?: string | undefined;
  queue?: string | undefined;
  'queue-profile'?: string | undefined;
  durable?: boolean | undefined;
}

/** A queue name from a command line or the environment, checked (protocol checkName). */
export function checkQueueName(queue: string): string {
  return checkName(queue, '--queue (or RPC_QUEUE)');
}

/**
 * Connection options from the environment, with the command line's flags taking precedence; the
 * queue name checked (checkQueueName).
 */
export function optionsFromCommandLine(
  flags: ConnectionFlagValues,
  env: Readonly<Record<string, string | undefined>>,
): EnvironmentOptions {
  const options = optionsFromEnvironment(env);
  if (flags.url) options.url = flags.url.flatMap(parseUrlList);
  if (flags.login !== undefined) options.login = flags.login;
  if (flags.passcode !== undefined) options.passcode = flags.passcode;
  if (flags.vhost !== undefined) options.vhost = flags.vhost;
  if (flags.queue !== undefined) options.queue = flags.queue;
  // An unknown profile name is reported by the client or server it configures.
  if (flags['queue-profile'] !== undefined) options.queueDeclaration = flags['queue-profile'] as QueueProfile;
  if (flags.durable) {
    if (flags['queue-profile'] !== undefined) throw new Error('--durable and --queue-profile exclude each other');
    // Silently replacing a profile from the environment would declare another queue than the others'.
    if (env.RPC_QUEUE_PROFILE) throw new Error('--durable and RPC_QUEUE_PROFILE exclude each other');
    options.queueDeclaration = { durable: true };
  }
  checkQueueName(options.queue);
  return options;
}
