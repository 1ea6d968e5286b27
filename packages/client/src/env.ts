import { DEFAULT_QUEUE } from './protocol.js';
import type { StompConnectionOptions } from './stomp-connection.js';

/** The environment variables both command lines read, with what they configure. */
export const ENVIRONMENT = {
  STOMP_URL: 'Web-STOMP URL; a comma-separated list fails over in order (default ws://127.0.0.1:15674/ws)',
  STOMP_LOGIN: 'broker user (default guest)',
  STOMP_PASSCODE: 'broker password (default guest)',
  STOMP_VHOST: 'RabbitMQ virtual host (default /)',
  RPC_QUEUE: `queue the servers consume (default ${DEFAULT_QUEUE})`,
} as const;

/** Connection options and queue name from `STOMP_*` and `RPC_QUEUE`, for Node programs. */
export function optionsFromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): StompConnectionOptions & { queue: string } {
  const options: StompConnectionOptions & { queue: string } = { queue: env.RPC_QUEUE || DEFAULT_QUEUE };
  if (env.STOMP_URL) {
    options.url = env.STOMP_URL.split(',')
      .map((url) => url.trim())
      .filter((url) => url !== '');
  }
  if (env.STOMP_LOGIN) options.login = env.STOMP_LOGIN;
  if (env.STOMP_PASSCODE) options.passcode = env.STOMP_PASSCODE;
  if (env.STOMP_VHOST) options.vhost = env.STOMP_VHOST;
  return options;
}
