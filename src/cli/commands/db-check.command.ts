import { Module } from '@nestjs/common';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { join } from 'node:path';
import { AppConfig } from '../../config/app-config';
import { sqliteSettings } from '../../core/persistence/database-settings';
import { checkDatabaseFile } from '../../core/persistence/sqlite/sqlite-file-check';
import { commandMeta, optionMeta } from '../catalogue';
import { dbRootCommand } from './db-root.command';
import { CommandFailedError } from '../cli-errors';
import { Output } from '../output/output';

/**
 * `vega db check`: loaded on its own (`command-modules.ts`), without the persistence module,
 * whose start (TypeORM, migrations) a damaged file could fail before anything is examined.
 */
@SubCommand(commandMeta('db', 'check'))
export class DbCheckCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly config: AppConfig) {
    super();
  }

  async run(_args: string[], options: { json?: boolean; full?: boolean }): Promise<void> {
    const report = await checkDatabaseFile(sqliteSettings(this.config.database).path, { full: options.full });
    if (options.json) this.out.json(report);
    else {
      const c = this.out.colour;
      this.out.line(c.dim(report.path));
      for (const result of [report.integrity, report.fts]) {
        this.out.line(`${result.ok ? c.green('ok  ') : c.red('FAIL')}  ${result.check}`);
        for (const finding of result.findings) this.out.line(`      ${finding}`);
      }
    }
    if (!report.ok) {
      throw new CommandFailedError(
        `the database is damaged: restore a backup from ${join(this.config.dataDir, 'backups')} (stop Vega, copy the newest over ${report.path}, start again)`,
      );
    }
  }

  @Option(optionMeta(['db', 'check'], '--full'))
  parseFull(): boolean {
    return true;
  }

  @Option(optionMeta(['db', 'check'], '--json'))
  parseJson(): boolean {
    return true;
  }
}


@Module({ providers: [dbRootCommand([DbCheckCommand]), DbCheckCommand] })
export class DbCheckCommandModule {}
