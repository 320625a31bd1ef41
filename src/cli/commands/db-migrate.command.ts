import { Module } from '@nestjs/common';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { databaseLabel } from '../../core/persistence/database-settings';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { commandMeta, optionMeta } from '../catalogue';
import { dbRootCommand } from './db-root.command';
import { Output } from '../output/output';

@SubCommand(commandMeta('db', 'migrate'))
export class DbMigrateCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
  ) {
    super();
  }

  async run(_args: string[], options: { json?: boolean }): Promise<void> {
    const applied = await PersistenceModule.migrate(this.config.database, this.dataSource);
    const database = databaseLabel(this.config.database);
    if (options.json) this.out.json({ database, applied });
    else if (applied.length === 0) this.out.line(`${database}: the schema is up to date`);
    else for (const name of applied) this.out.line(`applied ${name}`);
  }

  @Option(optionMeta(['db', 'migrate'], '--json'))
  parseJson(): boolean {
    return true;
  }
}


/** The database alone: no feature module, so it runs before any of them could use the schema. */
@Module({ imports: [PersistenceModule], providers: [dbRootCommand([DbMigrateCommand]), DbMigrateCommand] })
export class DbMigrateCommandModule {}
