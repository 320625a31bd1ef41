import { Module } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { AuditModule } from '../audit/audit.module';
import { OllamaModelsClient } from '../training/ollama-models.client';
import { OllamaModelsAdminService } from './ollama-models-admin.service';

/** The relay behind Ollama's model-management routes (pull, push, create, copy, delete, blobs), with the audit log. */
@Module({
  imports: [AuditModule],
  providers: [
    OllamaModelsAdminService,
    {
      provide: OllamaModelsClient,
      inject: [AppConfig],
      // No time limit on Ollama's answer: a pull with stream:false is silent until the model is
      // downloaded; the client decides how long to wait, and its going away cancels the pull.
      useFactory: (config: AppConfig) => new OllamaModelsClient(config.llm.ollamaUrls, { answerMs: 0 }),
    },
  ],
  // The audit log too: the controller's filter records the calls the scope guard refuses.
  exports: [OllamaModelsAdminService, AuditModule],
})
export class OllamaModelsAdminModule {}
