import type { DataSourceOptions } from 'typeorm';
import { ConversationEntity } from './conversation.entity';
import type { DatabaseSettings } from './database-settings';
import { MIGRATIONS } from './migrations/index';
import { sqliteDataSourceOptions } from './sqlite/sqlite-data-source-options';

/**
 * The one place TypeORM is configured: used by the app, by `ormconfig.ts` and by the tests.
 * The dialect's own connection options, then what every dialect shares: the entities, the
 * migrations (run at start, each in its own transaction), never `synchronize`.
 */
export function buildDataSourceOptions(config: {
  database: Pick<DatabaseSettings, 'type' | 'path'> & Partial<Pick<DatabaseSettings, 'busyTimeoutMs'>>;
}): DataSourceOptions {
  return {
    ...sqliteDataSourceOptions(config.database),
    entities: [ConversationEntity],
    migrations: MIGRATIONS,
    migrationsRun: true,
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
  };
}
