import { Module } from '@nestjs/common';
import { LlmModule } from '../../core/llm/llm.module';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { ChatModule } from '../chat/chat.module';
import { ResponsesController } from './responses.controller';
import { ResponsesService } from './responses.service';

/** OpenAI's Responses API under `/v1/responses`; imported by the HTTP app only. */
@Module({
  imports: [ChatModule, LlmModule, PersistenceModule],
  controllers: [ResponsesController],
  providers: [ResponsesService],
})
export class ResponsesHttpModule {}
