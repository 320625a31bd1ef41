import { Module } from '@nestjs/common';
import { LlmModule } from '../../core/llm/llm.module';
import { ChatModule } from '../chat/chat.module';
import { EmbeddingsModule } from '../embeddings/embeddings.module';
import { ModelsModule } from '../models/models.module';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { OpenAiChatController } from './openai-chat.controller';
import { OpenAiChatService } from './openai-chat.service';
import { OpenAiCompletionsController } from './openai-completions.controller';
import { OpenAiCompletionsService } from './openai-completions.service';
import { OpenAiEmbeddingsController } from './openai-embeddings.controller';
import { OpenAiEmbeddingsService } from './openai-embeddings.service';
import { OpenAiModelsController } from './openai-models.controller';

/** The OpenAI-compatible routes under `/v1/`; imported by the HTTP app only. */
@Module({
  imports: [ChatModule, EmbeddingsModule, LlmModule, ModelsModule, PersistenceModule],
  controllers: [OpenAiChatController, OpenAiCompletionsController, OpenAiEmbeddingsController, OpenAiModelsController],
  providers: [OpenAiChatService, OpenAiCompletionsService, OpenAiEmbeddingsService],
})
export class OpenAiHttpModule {}
