import { Module } from '@nestjs/common';
import { LlmModule } from '../../core/llm/llm.module';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { ChatService } from './chat.service';

/** Chat without transport: what the HTTP routes (`ChatHttpModule`) and the CLI share. */
@Module({
  imports: [LlmModule, PersistenceModule],
  providers: [ChatService],
  exports: [ChatService],
})
export class ChatModule {}
