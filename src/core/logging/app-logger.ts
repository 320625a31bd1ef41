import type { OnApplicationShutdown } from '@nestjs/common';
import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import { AppConfig } from '../../config/app-config';
import { redact } from './redact';

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

let isoMs = -1;
let isoField = '';

/**
 * pino's `isoTime` (`,"time":"<ISO 8601>"`), formatted once per millisecond: under load several
 * lines share a millisecond, and `toISOString()` was a microsecond and a half per line.
 */
export function isoTime(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoField = `,"time":"${new Date(now).toISOString()}"`;
  }
  return isoField;
}

/** The longest a log line waits in the buffer. */
const FLUSH_MS = 200;
/** How much text collects before it is written without waiting for FLUSH_MS. */
const BATCH_CHARS = 8 * 1024;

type SonicBoom = ReturnType<typeof pino.destination>;

/** Batches not yet written when the process exits (one `exit` listener for all of them). */
const unflushed = new Set<LineBatch>();
let exitHookInstalled = false;

/**
 * Collects log lines in an array and hands them to sonic-boom joined, once per batch: when the
 * batch reaches `maxChars`, or `maxWaitMs` after its first line (a timer armed only while lines
 * wait, so an idle process is not woken for nothing). (sonic-boom's own buffering, `minLength`,
 * measures its whole growing buffer in bytes on every line, which flattens and copies it each
 * time: ~4 KB of garbage per request with an 8 KB buffer.) Lines still held when the process
 * exits are written synchronously.
 */
export class LineBatch implements DestinationStream {
  private lines: string[] = [];
  private chars = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly target: SonicBoom,
    private readonly maxChars: number,
    private readonly maxWaitMs?: number,
  ) {
    unflushed.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => unflushed.forEach((batch) => batch.flushSync()));
    }
  }

  write(line: string): void {
    if (this.lines.length === 0 && this.maxWaitMs !== undefined) {
      this.timer = setTimeout(() => this.flush(), this.maxWaitMs);
      this.timer.unref();
    }
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= this.maxChars) this.flush();
  }

  /** Hands the collected lines to sonic-boom, which writes them asynchronously. */
  flush(done?: (error?: Error) => void): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length > 0) {
      const text = this.lines.join('');
      this.lines = [];
      this.chars = 0;
      this.target.write(text);
    }
    if (done) {
      try {
        this.target.flush(done);
      } catch (error) {
        done(error as Error);
      }
    }
  }

  /** Writes everything now (at shutdown and exit). */
  flushSync(): void {
    this.flush();
    try {
      this.target.flushSync();
    } catch {
      // Not open yet, or already closed: nothing more can be written.
    }
  }

  end(): void {
    this.flushSync();
    unflushed.delete(this);
    this.target.end();
  }
}

/**
 * The process's pino logger: JSON lines on stdout, written asynchronously and in batches (see
 * `bufferedStdout`), so a request never waits on the terminal or the journal; pino flushes what
 * is left when the process exits. On a terminal, outside production, and with `pino-pretty`
 * installed (a dev dependency), lines are pretty-printed instead. `destination` lets a caller
 * send the lines elsewhere.
 *
 * Every argument of every line goes through `redact` first: key-like fields (`api_key`,
 * `authorization`, `*_token`…) are censored, and so are key-like query parameters, bearer
 * credentials and URL passwords inside messages and error stacks, whoever wrote the line.
 */
export class AppLogger implements OnApplicationShutdown {
  readonly pino: Logger;
  private readonly destination?: pino.DestinationStream & { flushSync?: () => void };

  constructor(config: Pick<AppConfig, 'logLevel'>, destination?: DestinationStream) {
    const options: pino.LoggerOptions = {
      level: PINO_LEVEL[config.logLevel],
      base: { pid: process.pid },
      timestamp: isoTime,
      redact: { paths: REDACT, censor: '[REDACTED]' },
      hooks: {
        logMethod(args, method) {
          for (let i = 0; i < args.length; i += 1) args[i] = redact(args[i]);
          method.apply(this, args);
        },
      },
    };
    this.destination = destination ?? prettyStdout() ?? this.bufferedStdout();
    this.pino = pino(options, this.destination);
  }

  /** True when lines are pretty-printed for a person at a terminal rather than written as JSON. */
  get pretty(): boolean {
    return this.destination instanceof PrettyStdout;
  }

  /**
   * Lines collect in memory up to 8 KB and are flushed at least every FLUSH_MS: one write per
   * burst instead of one system call per request (a write to a pipe costs tens of µs here).
   */
  private bufferedStdout(): DestinationStream {
    return new LineBatch(pino.destination({ dest: 1, sync: false }), BATCH_CHARS, FLUSH_MS);
  }

  /** Writes what is still buffered (at shutdown, and before the start banner or a fatal exit). */
  flushSync(): void {
    try {
      this.destination?.flushSync?.();
    } catch {
      // The stream was not ready yet or is already closed: nothing left to write.
    }
  }

  onApplicationShutdown(): void {
    this.flushSync();
  }
}

/**
 * pino-pretty's formatter run in this thread, writing synchronously: a person at a terminal reads
 * a few lines, and they appear in order with what the process prints itself (the start banner).
 */
class PrettyStdout implements DestinationStream {
  constructor(private readonly format: (line: string) => string) {}

  write(line: string): void {
    process.stdout.write(this.format(line));
  }

  flushSync(): void {
    // Each line was written as it came.
  }
}

function prettyStdout(): DestinationStream | undefined {
  if (!process.stdout.isTTY || process.env.NODE_ENV === 'production') return undefined;
  let prettyFactory: (options: object) => (line: string) => string;
  try {
    ({ prettyFactory } = createRequire(__filename)('pino-pretty') as { prettyFactory: typeof prettyFactory });
  } catch {
    return undefined;
  }
  return new PrettyStdout(
    prettyFactory({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,context', messageFormat: '{if context}[{context}] {end}{msg}' }),
  );
}
