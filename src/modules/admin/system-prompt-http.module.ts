import { Module } from '@nestjs/common';
import { LlmModule } from '../../core/llm/llm.module';
import { SystemPromptController } from './system-prompt.controller';
import { SystemPromptWatcher } from './system-prompt.watcher';

/** The system prompt's reload route and file watch: the long-running HTTP app only. */
@Module({
  imports: [LlmModule],
  controllers: [SystemPromptController],
  providers: [SystemPromptWatcher],
})
export class SystemPromptHttpModule {}
