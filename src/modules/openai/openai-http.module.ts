import { Module } from '@nestjs/common';
import { LlmModule } from '../../core/llm/llm.module';
import { ChatModule } from '../chat/chat.module';
import { ModelsModule } from '../models/models.module';
import { OpenAiChatController } from './openai-chat.controller';
import { OpenAiChatService } from './openai-chat.service';
import { OpenAiModelsController } from './openai-models.controller';

/** The OpenAI-compatible routes under `/v1/`; imported by the HTTP app only. */
@Module({
  imports: [ChatModule, LlmModule, ModelsModule],
  controllers: [OpenAiChatController, OpenAiModelsController],
  providers: [OpenAiChatService],
})
export class OpenAiHttpModule {}
