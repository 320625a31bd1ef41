import type { Type } from '@nestjs/common';
import { Command, CommandRunner } from 'nest-commander';
import { commandMeta } from '../catalogue';
import { UsageError } from '../cli-errors';

/**
 * `vega db` over `subCommands`. The subcommands that load without the feature modules (`db check`,
 * `db migrate`, `db copy`: see command-modules.ts) each need their parent in their own module;
 * a bare `vega db` names every subcommand.
 */
export function dbRootCommand(subCommands: Type<CommandRunner>[]): Type<CommandRunner> {
  @Command({ ...commandMeta('db'), subCommands })
  class DbRootCommand extends CommandRunner {
    async run(): Promise<void> {
      throw new UsageError('vega db: give a command: backup, check, vacuum, export, import, purge, search, stats, migrate, copy');
    }
  }
  return DbRootCommand;
}
