import type { OnApplicationShutdown } from '@nestjs/common';
import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import { AppConfig } from '../../config/app-config';

const PINO_LEVEL: Record<AppConfig['logLevel'], Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  info: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/**
 * Header paths that must never reach a line, whatever a caller logs. The request logger itself
 * never logs headers or bodies; this is the second line of defence for ad-hoc `{ req }` objects.
 */
const REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'request.headers.authorization',
  'request.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
];

/**
 * The process's pino logger: JSON lines on stdout, written asynchronously (sonic-boom batches
 * what accumulates while a write is in flight, so a request never waits on the terminal or the
 * journal). On a terminal, outside production, and with `pino-pretty` installed (a dev
 * dependency), lines are pretty-printed instead. `destination` lets a caller send the lines elsewhere.
 */
export class AppLogger implements OnApplicationShutdown {
  readonly pino: Logger;
  private readonly destination?: pino.DestinationStream & { flushSync?: () => void };

  constructor(config: AppConfig, destination?: DestinationStream) {
    const options: pino.LoggerOptions = {
      level: PINO_LEVEL[config.logLevel],
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: '[REDACTED]' },
    };
    this.destination = destination ?? prettyTransport() ?? pino.destination({ dest: 1, sync: false });
    this.pino = pino(options, this.destination);
  }

  /** Writes what is still buffered before the process exits. */
  onApplicationShutdown(): void {
    try {
      this.destination?.flushSync?.();
    } catch {
      // The stream was not ready yet or is already closed: nothing left to write.
    }
  }
}

function prettyTransport(): DestinationStream | undefined {
  if (!process.stdout.isTTY || process.env.NODE_ENV === 'production') return undefined;
  try {
    createRequire(__filename).resolve('pino-pretty');
  } catch {
    return undefined;
  }
  return pino.transport({ target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } });
}
