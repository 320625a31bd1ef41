import 'reflect-metadata';
import { ConfigError } from './config/app-config';
import { loadEnvironmentConfig } from './config/load-environment';
import { AppLogger } from './core/logging/app-logger';
import { serve } from './app/serve';

async function bootstrap(): Promise<void> {
  let logger: AppLogger | undefined;
  try {
    const config = loadEnvironmentConfig();
    logger = new AppLogger(config);
    await serve(config, logger);
  } catch (error) {
    // Before the configuration is read, the default level; a failed start is logged like any line.
    exitOnFailedStart(logger ?? new AppLogger({ logLevel: 'info' }), error);
  }
}

/**
 * One log line (JSON, or pretty on a terminal) naming what failed, then exit code 1. A known cause
 * (`ConfigError`: a bad variable, an unusable data directory) is said in words, without a stack.
 */
function exitOnFailedStart(logger: AppLogger, error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  logger.pino.fatal(error instanceof ConfigError ? {} : { err: error }, `Vega failed to start: ${message}`);
  logger.flushSync();
  process.exit(1);
}

void bootstrap();
