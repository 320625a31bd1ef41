import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { AppConfig, ConfigError, loadConfig } from './config/app-config';
import { resolveApiKey } from './common/auth/api-key-ring';
import { createHttpApp } from './app/create-http-app';
import { GracefulShutdown } from './app/graceful-shutdown';

async function bootstrap(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config: AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const apiKey = resolveApiKey(config);
  if (apiKey.source === 'generated') {
    process.stdout.write(
      `\nGenerated an API key (shown once; stored in ${apiKey.file}, mode 0600):\n\n    ${apiKey.key}\n\n` +
        `Send it as "X-API-Key: <key>". Set API_KEY to use your own.\n\n`,
    );
  }
  const app = await createHttpApp(config, { apiKey: apiKey.key });
  // SIGTERM/SIGINT: stop accepting, end streams, let requests finish, close the database, exit 0.
  new GracefulShutdown(app, config.http.shutdownGraceMs, new Logger('Shutdown')).listen();
  await app.listen({ port: config.http.port, host: config.http.host });
  new Logger('Vega').log(`Listening on ${await app.getUrl()} (docs at /docs); model backend ${config.llm.urls.join(', ')}`);
}

bootstrap().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`Vega failed to start: ${message}\n`);
  process.exit(1);
});
