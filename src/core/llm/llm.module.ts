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
      useFactory: ({ llm }: AppConfig): LlmBackend => {
        const options = { maxConnections: llm.maxConnections, maxLineBytes: llm.maxLineBytes };
        return llm.backend === 'openai' ? new OpenAiBackend(llm.urls, llm.apiKey, options) : new OllamaBackend(llm.urls, options);
      },
    },
    LlmService,
    GenerationSettingsService,
    SystemPromptService,
  ],
  exports: [LlmService, GenerationSettingsService, SystemPromptService],
})
export class LlmModule {}
