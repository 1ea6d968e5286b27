#!/usr/bin/env node
// `npm run server`: one Fibonacci server in the foreground, the tutorial's rpc_server. Ctrl-C
// (SIGINT) or SIGTERM stops it cleanly: no new requests, those in hand finish, then it exits.
import { parseArgs } from 'node:util';
import { ENVIRONMENT, optionsFromEnvironment } from '@stomp-rpc/client';
import { fibonacciHandler } from './fibonacci-service.js';
import { jsonLogger, LOG_LEVELS, type LogLevel } from './logger.js';
import { RpcServer } from './rpc-server.js';

const USAGE = `usage: stomp-rpc-server [options]

Serves fib(n) on a RabbitMQ queue over Web-STOMP until stopped with Ctrl-C or SIGTERM.

options:
  --url <ws-url>        Web-STOMP URL (repeat to fail over)
  --login <user>        broker user
  --passcode <password> broker password
  --vhost <vhost>       RabbitMQ virtual host
  --queue <name>        request queue
  --durable             declare the queue durable (every party must agree)
  --prefetch <count>    requests held at once (default 1, the tutorial's fair dispatch)
  --max-n <n>           largest n served (default 1000000)
  --log-level <level>   ${LOG_LEVELS.join(' | ')} (default info)
  -h, --help            this text

environment:
${Object.entries(ENVIRONMENT)
  .map(([name, meaning]) => `  ${name.padEnd(22)}${meaning}`)
  .join('\n')}
`;

function numberOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0) throw new Error(`--${name} must be a whole number, got ${value}`);
  return parsed;
}

async function main(): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  function parse() {
    return parseArgs({
      options: {
        url: { type: 'string', multiple: true },
        login: { type: 'string' },
        passcode: { type: 'string' },
        vhost: { type: 'string' },
        queue: { type: 'string' },
        durable: { type: 'boolean' },
        prefetch: { type: 'string' },
        'max-n': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  }
  let prefetch: number;
  let maxN: number;
  try {
    values = parse().values;
    prefetch = numberOption('prefetch', values.prefetch, 1);
    maxN = numberOption('max-n', values['max-n'], 1_000_000);
    if (values['log-level'] !== undefined && !LOG_LEVELS.includes(values['log-level'] as LogLevel)) {
      throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
    }
  } catch (error) {
    process.stderr.write(`stomp-rpc-server: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  const fromEnvironment = optionsFromEnvironment(process.env);
  const logger = jsonLogger((values['log-level'] as LogLevel | undefined) ?? 'info');
  const server = new RpcServer({
    ...fromEnvironment,
    ...(values.url ? { url: values.url.flatMap((url) => url.split(',')) } : {}),
    ...(values.login ? { login: values.login } : {}),
    ...(values.passcode ? { passcode: values.passcode } : {}),
    ...(values.vhost ? { vhost: values.vhost } : {}),
    queue: values.queue ?? fromEnvironment.queue,
    queueDeclaration: { durable: values.durable ?? false },
    prefetch,
    handler: fibonacciHandler({ maxN }),
    logger,
  });

  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info('stopping', { signal });
      server.stop().then(resolve, (error: unknown) => {
        logger.error('stop failed', { error: String(error) });
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  // The server keeps retrying while the broker is away; it never exits because of it.
  server.start().catch((error: Error) => logger.warn('not connected yet; still trying', { reason: error.message }));
  await stopped;
  return 0;
}

process.exitCode = await main();
