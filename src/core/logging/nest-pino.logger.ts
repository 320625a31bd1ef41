import { Injectable, LoggerService } from '@nestjs/common';
import type { Level } from 'pino';
import { AppLogger } from './app-logger';

/**
 * Nest's start-up chatter, one line per module and per route (~90 lines): at `debug`, so that the
 * lines an operator needs at `info` (listening, backend, model) are not buried.
 */
const START_UP_DETAIL = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/**
 * Nest's own log lines (bootstrap, route mapping, errors from the exception filter) written
 * through the same pino logger as the request lines, so every line on stdout is JSON.
 * Nest passes the context as the last string argument and, for errors, a stack before it.
 */
@Injectable()
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: AppLogger) {}

  log(message: unknown, ...params: unknown[]): void {
    const context = params[params.length - 1];
    this.write(typeof context === 'string' && START_UP_DETAIL.has(context) ? 'debug' : 'info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    const log = this.logger.pino;
    if (!log.isLevelEnabled(level)) return;
    const context = params.length > 0 && typeof params[params.length - 1] === 'string' ? (params.pop() as string) : undefined;
    const stack = level === 'error' && typeof params[0] === 'string' ? params[0] : undefined;
    if (message instanceof Error) {
      log[level]({ context, err: message }, message.message);
    } else if (message !== null && typeof message === 'object') {
      log[level]({ context, ...message });
    } else {
      log[level]({ context, stack }, String(message));
    }
  }
}
