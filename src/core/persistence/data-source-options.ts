import type { DataSourceOptions } from 'typeorm';
import { ConversationEntity } from './conversation.entity';
import type { PostgresDatabaseSettings, SqliteDatabaseSettings } from './database-settings';
import { MIGRATIONS } from './migrations/index';
import { PG_MIGRATIONS } from './postgres/migrations/index';
import { pgDataSourceOptions } from './postgres/pg-data-source-options';
import { sqliteDataSourceOptions } from './sqlite/sqlite-data-source-options';

/** What the options need of `config.database`: the engine's connection settings, the rest optional. */
export type DataSourceSettings =
  | (Pick<SqliteDatabaseSettings, 'type' | 'path'> & Partial<Pick<SqliteDatabaseSettings, 'busyTimeoutMs' | 'migrationsRun'>>)
  | (Pick<PostgresDatabaseSettings, 'type' | 'url'> &
      Partial<Pick<PostgresDatabaseSettings, 'poolSize' | 'statementTimeoutMs' | 'queryTimeoutMs' | 'connectTimeoutMs' | 'migrationsRun'>>);

/**
 * The one place TypeORM is configured: used by the app, by `ormconfig.ts` and by the tests.
 * The dialect's own connection options and migrations, then what every dialect shares: the
 * migrations run at start (each in its own transaction) unless `MIGRATIONS_RUN=false`, never
 * `synchronize`. The entity is SQLite's alone: the PostgreSQL adapters speak SQL.
 */
export function buildDataSourceOptions(config: { database: DataSourceSettings }): DataSourceOptions {
  const { database } = config;
  const shared = {
    migrationsRun: database.migrationsRun ?? true,
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
  } as const;
  if (database.type === 'postgres') {
    return { ...pgDataSourceOptions(database), entities: [], migrations: PG_MIGRATIONS, ...shared };
  }
  return { ...sqliteDataSourceOptions(database), entities: [ConversationEntity], migrations: MIGRATIONS, ...shared };
}
