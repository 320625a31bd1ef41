import sqlite3 from 'sqlite3';
import type { DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../../config/app-config';
import { ConversationEntity } from './conversation.entity';
import { MIGRATIONS } from './migrations/index';

/**
 * TypeORM calls `verbose()` on the driver it loads, which turns on sqlite3's long stack traces
 * for every query (a stack captured per call, several percent of a chat request's CPU).
 * Handing it the module with a `verbose()` that changes nothing keeps the plain, fast binding.
 */
const sqlite3WithoutTracing = Object.assign(Object.create(sqlite3) as typeof sqlite3, { verbose: () => sqlite3 });

/** `DB_BUSY_TIMEOUT_SEC`'s default. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/** The one place TypeORM is configured: used by the app, by `ormconfig.ts` and by the tests. */
export function buildDataSourceOptions(config: {
  database: Pick<AppConfig['database'], 'type' | 'path'> & Partial<Pick<AppConfig['database'], 'busyTimeoutMs'>>;
}): DataSourceOptions {
  return {
    type: 'sqlite',
    database: config.database.path,
    driver: sqlite3WithoutTracing,
    enableWAL: true,
    busyTimeout: config.database.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
    entities: [ConversationEntity],
    migrations: MIGRATIONS,
    migrationsRun: true,
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
  };
}
