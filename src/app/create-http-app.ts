import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LogLevel, LoggerService } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ApiKeyRing } from '../common/auth/api-key-ring';
import { NestPinoLogger } from '../core/logging/nest-pino.logger';
import { requestIdFor } from '../core/logging/request-id';
import { HttpAppModule } from './http-app.module';
import { registerJsonBodyParser } from './json-body-parser';
import { raiseOpenAiChatBodyLimit } from '../modules/openai/openai-body-limit';
import { registerSecurityHeaders } from './security-headers';
import { setupSwagger } from './swagger';
import { serveWebUi } from './web-ui';

export interface HttpAppOptions {
  /** The main API key (already resolved: from the environment or the key file). */
  apiKey: string;
  /** Nest's logger; by default the app's JSON (pino) logger. */
  logger?: LoggerService | LogLevel[] | false;
}

const LEVELS: Record<AppConfig['logLevel'], LogLevel[]> = {
  fatal: ['fatal'],
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  verbose: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

/** Builds the Fastify-based app exactly as production runs it; `main.ts` and the e2e tests both use it. */
export async function createHttpApp(config: AppConfig, options: HttpAppOptions): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    trustProxy: false,
    // Nest's own handlers cover shutdown; keep-alive sockets must not hold it up.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // The client's X-Request-Id when well-formed, else a UUID; echoed and logged per request.
    genReqId: requestIdFor,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    HttpAppModule.forRoot(config, new ApiKeyRing(options.apiKey, config.auth.extraKeys)),
    adapter,
    // Nest's default parsers would also accept form bodies; the API speaks JSON only.
    // Without a logger given, Nest's lines wait for the JSON logger, which is itself a provider.
    { logger: options.logger ?? LEVELS[config.logLevel], bufferLogs: options.logger === undefined, abortOnError: false, bodyParser: false },
  );
  if (options.logger === undefined) app.useLogger(app.get(NestPinoLogger));
  registerJsonBodyParser(app);
  raiseOpenAiChatBodyLimit(app);
  await registerSecurityHeaders(app, config);
  setupSwagger(app);
  await serveWebUi(app);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}
