import { Module } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { RedisClient } from '../redis/redis.client';
import { RedisUsageLimiter } from '../redis/redis-usage-limiter';
import { PersistenceModule } from '../persistence/persistence.module';
import { InMemoryUsageLimiter } from './in-memory-usage-limiter';
import { KeyLimitsService } from './key-limits.service';
import { KeyUsageSource } from './key-usage.source';
import { UsageLimiter } from './usage-limiter';

/**
 * Per-key limits and budgets: the `UsageLimiter` port (in memory: one process; on Redis with
 * `REDIS_URL`: shared by every instance) seeded from the stored exchanges, and the service `LlmService` enforces them through.
 */
@Module({
  imports: [PersistenceModule],
  providers: [
    {
      provide: UsageLimiter,
      inject: [KeyUsageSource, AppConfig, { token: RedisClient, optional: true }],
      useFactory: (source: KeyUsageSource, config: AppConfig, redis?: RedisClient) => {
        const local = new InMemoryUsageLimiter(source);
        // A slot is held at most as long as a call may last, and a minute more.
        return redis && config.redis ? new RedisUsageLimiter(redis, local, source, config.redis.budgetsWhenDown, config.llm.timeoutMs + 60_000) : local;
      },
    },
    KeyLimitsService,
  ],
  exports: [KeyLimitsService],
})
export class LimitsModule {}
