import { Module } from '@nestjs/common';
import { CallerContext, CallerContextModule } from '../../common/auth/caller-context';
import { AppConfig } from '../../config/app-config';
import { LimitsModule } from '../limits/limits.module';
import { OutboundModule } from '../outbound/outbound.module';
import { BackendsReloadService } from './backends-reload.service';
import { GenerationSettingsService } from './generation-settings.service';
import { ImageResolver } from './image-input';
import { LlmService } from './llm.service';
import { ResponseCache } from './resilience/response-cache';
import { ChangeNotices } from '../redis/change-notices';
import { RedisClient } from '../redis/redis.client';
import { RedisAnswerCache } from '../redis/redis-answer-cache';
import { RedisTargetSlots } from '../redis/redis-target-slots';
import { ModelDiscovery } from './routing/model-discovery';
import { LoadedModels } from './routing/loaded-models';
import { poolFromConfig } from './routing/pool-from-config';
import { TargetPool } from './routing/target-pool';
import { SystemPromptService } from './system-prompt.service';

/**
 * The model servers (the routing pool of targets, each with its adapter and breaker) and the
 * policy around them (`LlmService`, the one way in: nothing else holds the pool or the cache),
 * and the one resolver of images given with messages (it fetches URLs through the outbound
 * fetcher).
 */
@Module({
  imports: [CallerContextModule, OutboundModule, LimitsModule],
  providers: [
    {
      provide: TargetPool,
      inject: [AppConfig, CallerContext, { token: RedisClient, optional: true }],
      // With Redis, each target's max concurrency is kept by every instance together.
      useFactory: (config: AppConfig, caller: CallerContext, redis?: RedisClient) => poolFromConfig(config, caller, redis && new RedisTargetSlots(redis)),
    },
    {
      provide: ResponseCache,
      inject: [AppConfig, { token: RedisClient, optional: true }, { token: ChangeNotices, optional: true }],
      // With Redis, a second level shared by every instance behind this process's own, and a clear reaches every instance's own.
      useFactory: ({ llm }: AppConfig, redis?: RedisClient, notices?: ChangeNotices) =>
        new ResponseCache(llm.cache.maxEntries, llm.cache.ttlMs, redis && new RedisAnswerCache(redis), notices),
    },
    ModelDiscovery,
    LlmService,
    LoadedModels,
    GenerationSettingsService,
    SystemPromptService,
    ImageResolver,
    BackendsReloadService,
  ],
  exports: [LimitsModule, LlmService, BackendsReloadService, GenerationSettingsService, SystemPromptService, ImageResolver],
})
export class LlmModule {}
