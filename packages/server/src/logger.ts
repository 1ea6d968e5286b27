/*
 * Server logs: pino, one JSON object per line on stdout. At the default level `info` that is one
 * line per lifecycle event (connected, reconnecting, stopping, stopped) and per failed request,
 * never per successful request (those are `debug`). Failed requests carry the caller's
 * `traceparent`, so a call can be followed from the page that made it to the server log.
 */
import { pino } from 'pino';

/** What the server needs of a logger; a pino logger (or a child of one) fits. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/**
 * `logger` with its throws swallowed: the server logs in the middle of its bookkeeping (before a
 * dropped request's ACK, before a lost connection's requests are given back), and an
 * application's logger that fails must not stop that.
 */
export function neverThrowing(logger: Logger): Logger {
  const guarded =
    (level: keyof Logger) =>
    (fields: object, message: string): void => {
      try {
        logger[level](fields, message);
      } catch {
        // nowhere left to report it
      }
    };
  return { debug: guarded('debug'), info: guarded('info'), warn: guarded('warn'), error: guarded('error') };
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * A pino logger writing to `destination` (stdout by default) synchronously, so nothing is lost
 * when the process exits right after a line; levels appear as names ("level":"warn").
 */
export function createLogger(
  level: LogLevel = 'info',
  destination: pino.DestinationStream = pino.destination({ sync: true }),
): Logger {
  return pino(
    {
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
