import { Module } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { LlmModule } from '../../core/llm/llm.module';
import { ModelRegistrationService } from './model-registration.service';
import { OllamaModelsClient } from './ollama-models.client';
import { TrainingBundleService } from './training-bundle.service';

/** The fine-tuning hand-off: training bundles, and registering a trained adapter in Ollama. */
@Module({
  imports: [LlmModule],
  providers: [
    TrainingBundleService,
    ModelRegistrationService,
    {
      provide: OllamaModelsClient,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new OllamaModelsClient(config.llm.ollamaUrls),
    },
  ],
  exports: [TrainingBundleService, ModelRegistrationService],
})
export class TrainingModule {}
