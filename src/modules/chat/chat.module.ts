import { Module } from '@nestjs/common';
import { LlmModule } from '../../core/llm/llm.module';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { ChatService } from './chat.service';
import { CompletionService } from './completion.service';

/** Chat and raw completions without transport: what the HTTP routes of every dialect and the CLI share. */
@Module({
  imports: [LlmModule, PersistenceModule],
  providers: [ChatService, CompletionService],
  exports: [ChatService, CompletionService],
})
export class ChatModule {}
