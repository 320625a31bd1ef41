import { Module } from '@nestjs/common';
import { LlmModule } from '../../core/llm/llm.module';
import { EvaluationService } from './evaluation.service';
import { PromptOptimizerService } from './prompt-optimizer.service';

/** Eval runs and system-prompt optimisation over the Llm module; no database, no transport. */
@Module({
  imports: [LlmModule],
  providers: [EvaluationService, PromptOptimizerService],
  exports: [EvaluationService, PromptOptimizerService],
})
export class EvaluationModule {}
