import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LogLevel, LoggerService } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ChainedKeyStore, type ApiKeyStore } from '../common/auth/api-key-store';
import { environmentKeys } from '../common/auth/environment-keys';
import { AppLogger } from '../core/logging/app-logger';
import { NestPinoLogger } from '../core/logging/nest-pino.logger';
import { requestIdFor } from '../core/logging/request-id';
import { HttpAppModule } from './http-app.module';
import { registerJsonBodyParser } from './json-body-parser';
import { raiseOpenAiChatBodyLimit } from '../modules/openai/openai-body-limit';
import { raiseChatBodyLimit } from '../modules/chat/chat-body-limit';
import { raiseAnthropicBodyLimit } from '../modules/anthropic/anthropic-body-limit';
import { raiseOllamaBodyLimit } from '../modules/ollama/ollama-body-limit';
import { registerModelAdminBodies } from '../modules/ollama/ollama-models-admin.body';
import { registerSecurityHeaders } from './security-headers';
import { setupSwagger } from './swagger';
import { serveWebUi } from './web-ui';

export interface HttpAppOptions {
  /** The main API key (already resolved: from the environment or the key file). */
  apiKey: string;
  /** Nest's logger; by default the app's JSON (pino) logger. */
  logger?: LoggerService | LogLevel[] | false;
  /** The app's pino logger (request lines, and Nest's lines by default); a new one on stdout when not given. */
  appLogger?: AppLogger;
  /** Key stores asked after the environment's keys (a test's keys with fewer scopes). */
  keyStores?: ApiKeyStore[];
}


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
  const appLogger = options.appLogger ?? new AppLogger(config);
  const app = await NestFactory.create<NestFastifyApplication>(
    HttpAppModule.forRoot(config, new ChainedKeyStore([environmentKeys(options.apiKey, config), ...(options.keyStores ?? [])]), appLogger),
    adapter,
    // Nest's default parsers would also accept form bodies; the API speaks JSON only.
    // The JSON logger exists before Nest: its first line, and the lines of a failed start, are JSON too.
    { logger: options.logger ?? new NestPinoLogger(appLogger), abortOnError: false, bodyParser: false },
  );
  registerJsonBodyParser(app);
  raiseOpenAiChatBodyLimit(app);
  raiseAnthropicBodyLimit(app);
  raiseChatBodyLimit(app);
  raiseOllamaBodyLimit(app);
  registerModelAdminBodies(app);
  await registerSecurityHeaders(app, config);
  setupSwagger(app);
  await serveWebUi(app);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}
