import { Module } from '@nestjs/common';
import { Command, CommandRunner } from 'nest-commander';
import { CurateModule } from '../../modules/datasets/curate.module';
import { EvaluationModule } from '../../modules/evaluation/evaluation.module';
import { commandMeta, findCommand } from '../catalogue';
import { UsageError } from '../cli-errors';
import { LearnCurateCommand } from './learn-curate.command';
import { LearnCompareCommand, LearnEvaluateCommand, LearnOptimizePromptCommand } from './learn-evaluate.commands';

/** `vega learn`: one class per subcommand in its own file; this group lists them. */
@Command({
  ...commandMeta('learn'),
  subCommands: [LearnCurateCommand, LearnEvaluateCommand, LearnCompareCommand, LearnOptimizePromptCommand],
})
export class LearnCommand extends CommandRunner {
  async run(): Promise<void> {
    const names = findCommand(['learn'])?.subcommands?.map((command) => command.name) ?? [];
    throw new UsageError(`vega learn: give a command: ${names.join(', ')}`);
  }
}

@Module({
  imports: [CurateModule, EvaluationModule],
  providers: [LearnCommand, LearnCurateCommand, LearnEvaluateCommand, LearnCompareCommand, LearnOptimizePromptCommand],
})
export class LearnCommandModule {}
