import { Module } from '@nestjs/common';
import { Command, CommandRunner } from 'nest-commander';
import { CurateModule } from '../../modules/datasets/curate.module';
import { findCommand, commandMeta } from '../catalogue';
import { UsageError } from '../cli-errors';
import { LearnCurateCommand } from './learn-curate.command';

/** `vega learn`: one class per subcommand in its own file; this group lists them. */
@Command({ ...commandMeta('learn'), subCommands: [LearnCurateCommand] })
export class LearnCommand extends CommandRunner {
  async run(): Promise<void> {
    const names = findCommand(['learn'])?.subcommands?.map((command) => command.name) ?? [];
    throw new UsageError(`vega learn: give a command: ${names.join(', ')}`);
  }
}

@Module({ imports: [CurateModule], providers: [LearnCommand, LearnCurateCommand] })
export class LearnCommandModule {}
