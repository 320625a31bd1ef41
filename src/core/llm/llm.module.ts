import { Module } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { LimitsModule } from '../limits/limits.module';
import { OutboundModule } from '../outbound/outbound.module';
import { GenerationSettingsService } from './generation-settings.service';
import { ImageResolver } from './image-input';
import { LlmBackend } from './llm-backend';
import { LlmService } from './llm.service';
import { OllamaBackend } from './backends/ollama/ollama.backend';
import { OpenAiBackend } from './backends/openai/openai.backend';
import { CircuitBreaker } from './resilience/circuit-breaker';
import { ResponseCache } from './resilience/response-cache';
import { SystemPromptService } from './system-prompt.service';

/**
 * The model backend and the policy around it (`LlmService`, the one way in: nothing else holds the
 * backend, the breaker or the cache), and the one resolver of images given with messages (it
 * fetches URLs through the outbound fetcher).
 */
@Module({
  imports: [OutboundModule, LimitsModule],
  providers: [
    {
      provide: LlmBackend,
      inject: [AppConfig],
      useFactory: ({ llm }: AppConfig): LlmBackend => {
        const options = { maxConnections: llm.maxConnections, maxLineBytes: llm.maxLineBytes };
        return llm.backend === 'openai' ? new OpenAiBackend(llm.urls, llm.apiKey, options) : new OllamaBackend(llm.urls, options);
      },
    },
    { provide: CircuitBreaker, inject: [AppConfig], useFactory: ({ llm }: AppConfig) => new CircuitBreaker(llm.breaker) },
    { provide: ResponseCache, inject: [AppConfig], useFactory: ({ llm }: AppConfig) => new ResponseCache(llm.cache.maxEntries, llm.cache.ttlMs) },
    LlmService,
    GenerationSettingsService,
    SystemPromptService,
    ImageResolver,
  ],
  exports: [LimitsModule, LlmService, GenerationSettingsService, SystemPromptService, ImageResolver],
})
export class LlmModule {}
