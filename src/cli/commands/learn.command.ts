import { Module } from '@nestjs/common';
import { Command, CommandRunner } from 'nest-commander';
import { EvaluationModule } from '../../modules/evaluation/evaluation.module';
import { commandMeta, findCommand } from '../catalogue';
import { UsageError } from '../cli-errors';
import { LearnCompareCommand, LearnEvaluateCommand, LearnOptimizePromptCommand } from './learn-evaluate.commands';

@Command({ ...commandMeta('learn'), subCommands: [LearnEvaluateCommand, LearnCompareCommand, LearnOptimizePromptCommand] })
export class LearnCommand extends CommandRunner {
  async run(): Promise<void> {
    const names = findCommand(['learn'])?.subcommands?.map((command) => command.name) ?? [];
    throw new UsageError(`vega learn: give a command: ${names.join(', ')}`);
  }
}

@Module({
  imports: [EvaluationModule],
  providers: [LearnCommand, LearnEvaluateCommand, LearnCompareCommand, LearnOptimizePromptCommand],
})
export class LearnCommandModule {}
