import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '../config/app-config';
import { extraKeysDeprecation, resolveApiKey } from '../common/auth/environment-keys';
import { BackendProbe } from '../core/health/backend-probe';
import { AppLogger } from '../core/logging/app-logger';
import { createHttpApp } from './create-http-app';
import { checkDataDirectory } from './data-dir';
import { GracefulShutdown } from './graceful-shutdown';
import { announceStart } from './start-banner';

/**
 * Starts the HTTP API as production runs it: checks the data directory, resolves (or generates)
 * the API key, builds the app, installs the graceful shutdown on SIGTERM/SIGINT, listens, and
 * announces where everything is once the first probe of the backend has answered. Shared by
 * `main.ts` and `vega serve`.
 */
export async function serve(config: AppConfig, logger = new AppLogger(config)): Promise<NestFastifyApplication> {
  checkDataDirectory(config);
  const apiKey = resolveApiKey(config);
  const app = await createHttpApp(config, { apiKey: apiKey.key, appLogger: logger });
  const deprecation = extraKeysDeprecation(config);
  if (deprecation) logger.pino.warn(deprecation);
  // SIGTERM/SIGINT: stop accepting, end streams, let requests finish, close the database, exit 0.
  new GracefulShutdown(app, config.http.shutdownGraceMs, new Logger('Shutdown')).listen();
  await app.listen({ port: config.http.port, host: config.http.host });
  const backend = app.get(BackendProbe);
  // The probe started with the app; joins it (a few seconds at most) when it has not answered yet.
  const state = backend.state.checkedAt === null ? await backend.probe() : backend.state;
  announceStart(logger, {
    url: await app.getUrl(),
    apiKey,
    backend: { kind: backend.backendKind, urls: config.llm.urls },
    model: config.llm.model,
    probe: state,
  });
  return app;
}
