import { Module } from '@nestjs/common';
import { LlmModule } from '../../core/llm/llm.module';
import { ChatModule } from '../chat/chat.module';
import { AnthropicMessagesController } from './anthropic-messages.controller';
import { AnthropicMessagesService } from './anthropic-messages.service';

/** Anthropic's Messages API under `/v1/messages`; imported by the HTTP app only. */
@Module({
  imports: [ChatModule, LlmModule],
  controllers: [AnthropicMessagesController],
  providers: [AnthropicMessagesService],
})
export class AnthropicHttpModule {}
