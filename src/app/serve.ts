import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '../config/app-config';
import { resolveApiKey } from '../common/auth/api-key-ring';
import { createHttpApp } from './create-http-app';
import { GracefulShutdown } from './graceful-shutdown';

/**
 * Starts the HTTP API as production runs it: resolves (or generates and shows once) the API
 * key, builds the app, installs the graceful shutdown on SIGTERM/SIGINT and listens. Shared by
 * `main.ts` and `vega serve`.
 */
export async function serve(config: AppConfig): Promise<NestFastifyApplication> {
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
  return app;
}
