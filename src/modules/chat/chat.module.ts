import { Module } from '@nestjs/common';
import { LlmModule } from '../../core/llm/llm.module';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { ChatController } from './chat.controller';
import { ChatService } from './chat.service';

@Module({
  imports: [LlmModule, PersistenceModule],
  controllers: [ChatController],
  providers: [ChatService],
  exports: [ChatService],
})
export class ChatModule {}
