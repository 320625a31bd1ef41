import type { AppConfig } from '../../config/app-config';
import { type DatabaseLocation, redactDatabaseUrl } from '../../config/database-url';

/** `config.database`: which database (`DATABASE_URL`) and how to use it. */
export type DatabaseSettings = AppConfig['database'];

/** The database engines Vega can store in; `DATABASE_URL` chooses one. */
export type DatabaseDialect = DatabaseSettings['type'];

export type SqliteDatabaseSettings = Extract<DatabaseSettings, { type: 'sqlite' }>;
export type PostgresDatabaseSettings = Extract<DatabaseSettings, { type: 'postgres' }>;

/** The settings of the SQLite file, for what only SQLite has (its adapters, `vega db check`). */
export function sqliteSettings(database: DatabaseSettings): SqliteDatabaseSettings {
  if (database.type !== 'sqlite') throw new Error(`this needs a SQLite database (DATABASE_URL=sqlite:<path>), not ${database.type}`);
  return database;
}

/** The database as it may be shown: the SQLite file's path, or the PostgreSQL URL without its password. */
export function databaseLabel(database: DatabaseLocation): string {
  return database.type === 'sqlite' ? database.path : redactDatabaseUrl(database.url);
}
