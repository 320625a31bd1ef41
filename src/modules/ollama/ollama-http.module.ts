import { Module } from '@nestjs/common';
import { LlmModule } from '../../core/llm/llm.module';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { ChatModule } from '../chat/chat.module';
import { OllamaChatService } from './ollama-chat.service';
import { OllamaGenerateService } from './ollama-generate.service';
import { OllamaModelsModule } from './ollama-models.module';
import { OllamaController } from './ollama.controller';

/**
 * Ollama's native API at Ollama's own paths (`/api/chat`, `/api/generate`, …), so the Ollama
 * clients can point at Vega instead of Ollama; imported by the HTTP app only. Errors under
 * `/api/` come in Ollama's `{"error": "…"}` shape (see `common/errors/ollama-error.ts`).
 */
@Module({
  imports: [ChatModule, LlmModule, PersistenceModule, OllamaModelsModule],
  controllers: [OllamaController],
  providers: [OllamaChatService, OllamaGenerateService],
})
export class OllamaHttpModule {}
