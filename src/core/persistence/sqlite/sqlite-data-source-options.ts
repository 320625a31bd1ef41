import sqlite3 from 'sqlite3';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { SqliteDatabaseSettings } from '../database-settings';

/**
 * TypeORM calls `verbose()` on the driver it loads, which turns on sqlite3's long stack traces
 * for every query (a stack captured per call, several percent of a chat request's CPU).
 * Handing it the module with a `verbose()` that changes nothing keeps the plain, fast binding.
 */
const sqlite3WithoutTracing = Object.assign(Object.create(sqlite3) as typeof sqlite3, { verbose: () => sqlite3 });

/** `DB_BUSY_TIMEOUT_SEC`'s default. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/** TypeORM's connection to the SQLite file: WAL, the busy timeout, the driver without tracing. */
export function sqliteDataSourceOptions(database: Pick<SqliteDatabaseSettings, 'path'> & Partial<Pick<SqliteDatabaseSettings, 'busyTimeoutMs'>>) {
  return {
    type: 'sqlite',
    database: database.path,
    driver: sqlite3WithoutTracing,
    enableWAL: true,
    busyTimeout: database.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
  } satisfies Partial<DataSourceOptions>;
}

/**
 * Opens the data source, then sets what TypeORM's options cannot: WAL makes NORMAL durable
 * against application crashes; only an OS crash can lose the last commits, and it saves an fsync
 * on every stored exchange.
 */
export async function openSqliteDataSource(options: DataSourceOptions): Promise<DataSource> {
  const dataSource = await new DataSource(options).initialize();
  await dataSource.query('PRAGMA synchronous = NORMAL');
  return dataSource;
}
