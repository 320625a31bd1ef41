import { Module } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { GenerationSettingsService } from './generation-settings.service';
import { LlmBackend } from './llm-backend';
import { LlmService } from './llm.service';
import { OllamaBackend } from './ollama.backend';
import { OpenAiBackend } from './openai.backend';
import { SystemPromptService } from './system-prompt.service';

@Module({
  providers: [
    {
      provide: LlmBackend,
      inject: [AppConfig],
      useFactory: (config: AppConfig): LlmBackend =>
        config.llm.backend === 'openai' ? new OpenAiBackend(config.llm.urls, config.llm.apiKey) : new OllamaBackend(config.llm.urls),
    },
    LlmService,
    GenerationSettingsService,
    SystemPromptService,
  ],
  exports: [LlmService, GenerationSettingsService, SystemPromptService],
})
export class LlmModule {}
