import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfig } from '../config/app-config';
import type { ApiKeyStore } from '../common/auth/api-key-store';
import { ApiKeyGuard } from '../common/auth/api-key.guard';
import { CallerContextInterceptor } from '../common/auth/caller-context.interceptor';
import { AuthModule } from '../common/auth/auth.module';
import { ShutdownModule } from '../common/lifecycle/shutdown-signal';
import { AllExceptionsFilter } from '../common/errors/all-exceptions.filter';
import { AuthFailureGuard } from '../common/throttling/auth-failure.guard';
import { KeyThrottlerGuard, throttlerOptions } from '../common/throttling/key-throttler.guard';
import { SlidingWindowThrottlerStorage } from '../common/throttling/sliding-window.storage';
import { ThrottlingModule } from '../common/throttling/throttling.module';
import { AppLogger } from '../core/logging/app-logger';
import { LoggingModule } from '../core/logging/logging.module';
import { PersistenceModule } from '../core/persistence/persistence.module';
import { RedisClient } from '../core/redis/redis.client';
import { RedisModule } from '../core/redis/redis.module';
import { RedisThrottlerStorage } from '../core/redis/redis-throttler.storage';
import { AdminHttpModule } from '../modules/admin/admin-http.module';
import { ChatHttpModule } from '../modules/chat/chat-http.module';
import { OpenAiHttpModule } from '../modules/openai/openai-http.module';
import { AnthropicHttpModule } from '../modules/anthropic/anthropic-http.module';
import { OllamaHttpModule } from '../modules/ollama/ollama-http.module';
import { ResponsesHttpModule } from '../modules/responses/responses-http.module';
import { HealthModule } from '../modules/health/health.module';
import { HistoryHttpModule } from '../modules/history/history-http.module';
import { IntegrationsHttpModule } from '../modules/integrations/integrations-http.module';
import { MetricsModule } from '../modules/metrics/metrics.module';
import { OsintHttpModule } from '../modules/osint/osint-http.module';
import { ResearchHttpModule } from '../modules/research/research-http.module';
import { ModelsModule } from '../modules/models/models.module';
import { SystemPromptHttpModule } from '../modules/admin/system-prompt-http.module';
import { AuditHttpModule } from '../modules/audit/audit-http.module';
import { UsageHttpModule } from '../modules/usage/usage-http.module';
import { DatabaseKeyStore } from '../modules/keys/database-key-store';
import { KeysHttpModule } from '../modules/keys/keys-http.module';
import { KeysModule } from '../modules/keys/keys.module';
import { CoreModule } from './core.module';
import { IdleMemoryTrimmer } from './idle-memory-trimmer';
import { createValidationPipe } from './validation.pipe';

/** The HTTP application: the core graph plus everything that only makes sense over HTTP. */
@Module({})
export class HttpAppModule {
  static forRoot(config: AppConfig, keys: ApiKeyStore, logger: AppLogger): DynamicModule {
    return {
      module: HttpAppModule,
      imports: [
        CoreModule.forRoot(config),
        // Shared state of several instances (limits, budgets, the answer cache, change notices).
        ...(config.redis ? [RedisModule.forRoot(config.redis)] : []),
        // The environment's keys, then the managed keys of the database.
        AuthModule.forRoot(keys, { imports: [KeysModule], store: DatabaseKeyStore }),
        ShutdownModule,
        ThrottlingModule,
        ThrottlerModule.forRootAsync({
          imports: [ThrottlingModule],
          inject: [AppConfig, SlidingWindowThrottlerStorage, { token: RedisClient, optional: true }],
          useFactory: (appConfig: AppConfig, local: SlidingWindowThrottlerStorage, redis?: RedisClient) =>
            throttlerOptions(appConfig, redis ? new RedisThrottlerStorage(redis, local) : local),
        }),
        LoggingModule.forRoot(logger),
        HealthModule,
        ChatHttpModule,
        OpenAiHttpModule,
        AnthropicHttpModule,
        ResponsesHttpModule,
        OllamaHttpModule,
        HistoryHttpModule,
        AdminHttpModule,
        MetricsModule,
        OsintHttpModule,
        ResearchHttpModule,
        ModelsModule,
        IntegrationsHttpModule,
        SystemPromptHttpModule,
        AuditHttpModule,
        UsageHttpModule,
        KeysHttpModule,
      ],
      providers: [
        // Global guards run in this order: an address that sent too many wrong keys is refused
        // before its key is checked; then the key; then the key's budget (every route except
        // those with @SkipThrottle(): the probes and metrics).
        { provide: APP_GUARD, useClass: AuthFailureGuard },
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_GUARD, useClass: KeyThrottlerGuard },
        // The handler runs as the accepted key: what it stores and spends is charged to it.
        { provide: APP_INTERCEPTOR, useClass: CallerContextInterceptor },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
        // The database's background work (SQLite: WAL checkpoints beside, not in, the requests that store exchanges).
        ...PersistenceModule.serverTasks(config.database),
        // A long-running server hands the heap a burst left behind back once it is idle.
        IdleMemoryTrimmer,
      ],
    };
  }
}
