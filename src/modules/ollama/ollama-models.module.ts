import { Module } from '@nestjs/common';
import { LlmModule } from '../../core/llm/llm.module';
import { EmbeddingsModule } from '../embeddings/embeddings.module';
import { ModelsModule } from '../models/models.module';
import { OllamaEmbedController } from './ollama-embed.controller';
import { OllamaEmbedService } from './ollama-embed.service';
import { OllamaModelsController } from './ollama-models.controller';
import { OllamaModelsService } from './ollama-models.service';

/** Ollama's model listings and embeddings at their own paths (`/api/tags`, `/api/ps`, `/api/show`, `/api/version`, `/api/embed`, `/api/embeddings`). */
@Module({
  imports: [EmbeddingsModule, LlmModule, ModelsModule],
  controllers: [OllamaModelsController, OllamaEmbedController],
  providers: [OllamaModelsService, OllamaEmbedService],
})
export class OllamaModelsModule {}
