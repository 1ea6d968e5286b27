#!/usr/bin/env node
// `npm run server`: one Fibonacci server in the foreground, the tutorial's rpc_server. Ctrl-C
// (SIGINT) or SIGTERM stops it cleanly: no new requests, those in hand finish, then it exits.
// Its flags and usage text are read and checked in command-line.ts.
import { fibonacciService, isRpcError } from '@stomp-rpc/client';
import { newSignalCheck, printInfo } from '@stomp-rpc/client/internal';
import { type CommandLine, parseCommandLine, USAGE } from './command-line.js';
import { fibonacciImplementation } from './fibonacci-service.js';
import { createLogger, type Logger } from './logger.js';
import { ServerMetrics } from './metrics.js';
import type { RpcServer } from './rpc-server.js';
import { serveService } from './service-server.js';
import { SERVER_VERSION } from './version.js';
import { WorkerPool } from './worker-pool.js';

/** The server the command line describes, with its worker pool and metrics endpoint. */
async function assemble(commandLine: CommandLine) {
  const {
    values,
    connection,
    logLevel,
    prefetch,
    maxN,
    maxReplyBytes,
    workers,
    presenceMs,
    cancels,
    defaultDeadlineMs,
  } = commandLine;
  const logger = createLogger(logLevel);
  const pool = new WorkerPool({
    ...(workers === undefined ? {} : { size: workers }),
    onGiveUp: (cause) =>
      logger.error(
        { reason: cause.message },
        'worker threads keep dying: computing fib(n) on the event loop from now on',
      ),
    // Each death fails a request with INTERNAL; before the give-up it was seen nowhere.
    onWorkerDied: (cause) => logger.warn({ reason: cause.message }, 'a worker thread died'),
  });
  const { queue } = connection;
  let server: RpcServer | undefined;
  const metrics =
    commandLine.metricsPort === undefined
      ? undefined
      : new ServerMetrics({
          queue,
          inFlight: () => server?.stats.inFlight ?? 0,
          server: () => server,
          pool: () => pool,
        });
  let metricsEndpoint: Awaited<ReturnType<ServerMetrics['serve']>> | undefined;
  const release = () => Promise.all([pool.close(), metricsEndpoint?.close()]).then(() => {});
  try {
    if (metrics && commandLine.metricsPort !== undefined) {
      metricsEndpoint = await metrics.serve(commandLine.metricsPort, values['metrics-host']);
      logger.info({ url: metricsEndpoint.url }, 'serving metrics');
    }
    server = serveService(fibonacciService, fibonacciImplementation({ maxN, pool }), {
      ...connection,
      prefetch,
      maxReplyBytes,
      presenceMs,
      cancels,
      defaultDeadlineMs,
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
 * Stops the server at the first SIGINT or SIGTERM (or `stop()`), draining it; a second signal exits
 * at once (the first one delivered again at once is not one: newSignalCheck). `done` resolves once
 * it stopped.
 * Started by `npm start` (scripts/start.mjs), the server is in a process group of its own with an
 * IPC channel to start.mjs, which passes on Ctrl-C; the channel closing means start.mjs is gone
 * (even killed with SIGKILL), so the server stops as on a first signal. The channel is unref'd, so
 * it keeps no stopped server alive.
 */
function untilStopped(server: RpcServer, logger: Logger, graceMs: number, release: () => Promise<void>) {
  let stop!: (signal: string) => void;
  /** Resolves with whether the server and what it used stopped cleanly. */
  const done = new Promise<boolean>((resolve) => {
    let stopping = false;
    const isNew = newSignalCheck();
    stop = (signal: string) => {
      if (!isNew(signal)) return;
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
  return { done, stop };
}

async function main(): Promise<number> {
  let commandLine: CommandLine | 'help' | 'version';
  try {
    commandLine = parseCommandLine(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`stomp-rpc-server: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (commandLine === 'help' || commandLine === 'version') {
    // Whatever values the other flags have (an unknown flag is still a usage error).
    printInfo(commandLine === 'help' ? USAGE : `${SERVER_VERSION}\n`);
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
  const { done, stop } = untilStopped(server, logger, commandLine.graceMs, release);
  let refused = false;
  // The server keeps retrying while the broker is away; it never exits because of it. start()
  // gives up its wait after 30 s: another begins, so that a refusal coming later is still seen. A
  // refused login (or a vhost refused for 10 s: no access, or at its connection limit) does not
  // mend itself: the server stops and exits 1, for the operator (or a supervisor) to see. A stop()
  // ends the wait with CLOSED: nothing is still trying then.
  const startUntilUp = (): void => {
    server.start().catch((error: unknown) => {
      const code = isRpcError(error) ? error.code : undefined;
      if (code === 'CLOSED') return;
      if (code === 'UNAUTHENTICATED') {
        refused = true;
        // The reason says which: "Bad CONNECT" for the login, "Virtual host '…' access denied".
        logger.error({ reason: (error as Error).message }, 'the broker refused the login or the vhost');
        // On stderr too, as a failure to start is: the log may be silenced, or go elsewhere.
        process.stderr.write(`stomp-rpc-server: UNAUTHENTICATED: ${(error as Error).message}\n`);
        stop('refused login');
        return;
      }
      logger.warn({ reason: (error as Error).message }, 'not serving yet; still trying');
      startUntilUp();
    });
  };
  startUntilUp();
  const stoppedCleanly = await done;
  return stoppedCleanly && !refused ? 0 : 1;
}

process.exitCode = await main();
