import type { PoolClient, QueryConfig } from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { PostgresDatabaseSettings } from '../database-settings';

/** `DB_POOL_SIZE`'s, `DB_STATEMENT_TIMEOUT_SEC`'s, `DB_QUERY_TIMEOUT_SEC`'s and `DB_CONNECT_TIMEOUT_SEC`'s defaults. */
export const DEFAULT_POOL_SIZE = 10;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;
export const DEFAULT_QUERY_TIMEOUT_MS = 35_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** The longest timer Node keeps (about 24 days): a wait that must not be cut by the query timeout. */
export const UNBOUNDED_QUERY_TIMEOUT_MS = 2 ** 31 - 1;

/** What the server's views (`pg_stat_activity`) show for Vega's sessions. */
export const APPLICATION_NAME = 'vega';

/**
 * Any number: Vega's own. Every instance takes this session lock before it migrates, so one
 * migrates while the others wait, then find nothing left to do.
 */
export const MIGRATION_LOCK_ID = 0x76656761; // 'vega'

/**
 * TypeORM's connection to PostgreSQL through the `pg` driver: the pool size, a statement timeout
 * on every session, int8 read as numbers (ids, counts; Vega's never pass 2^53). A server that
 * hangs (stopped, or behind a network black hole) applies no statement timeout of its own: the
 * client bounds the wait for every answer (`query_timeout`, which fails with "Query read timeout")
 * and for a connection (`connectionTimeoutMillis`, also the wait for a free pooled connection).
 */
export function pgDataSourceOptions(
  database: Pick<PostgresDatabaseSettings, 'url'> &
    Partial<Pick<PostgresDatabaseSettings, 'poolSize' | 'statementTimeoutMs' | 'queryTimeoutMs' | 'connectTimeoutMs'>>,
) {
  return {
    type: 'postgres',
    url: database.url,
    applicationName: APPLICATION_NAME,
    poolSize: database.poolSize ?? DEFAULT_POOL_SIZE,
    parseInt8: true,
    extra: {
      statement_timeout: database.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
      // 0 is pg's "no timeout".
      query_timeout: database.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
      // A server that does not answer fails the connection instead of hanging the request.
      connectionTimeoutMillis: database.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    },
  } satisfies Partial<DataSourceOptions>;
}

/**
 * Opens the data source, then runs the pending migrations (when `migrationsRun`) under a
 * PostgreSQL advisory lock: several instances started at once on an empty database all come up,
 * and the schema is made once. TypeORM's own `migrationsRun` is off for that reason.
 */
export async function openPgDataSource(options: DataSourceOptions): Promise<DataSource> {
  const dataSource = await new DataSource({ ...options, migrationsRun: false }).initialize();
  try {
    if (options.migrationsRun) await migrateUnderLock(dataSource);
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    throw error;
  }
  return dataSource;
}

/** Runs the pending migrations while holding the migration lock on a connection of its own. */
export async function migrateUnderLock(dataSource: DataSource): Promise<string[]> {
  const lock = dataSource.createQueryRunner();
  try {
    // Waiting for another instance's migrations is not a slow statement: no timeout here, on
    // either side (TypeORM's `query` cannot pass pg's per-query timeout, the client can).
    const client = (await lock.connect()) as PoolClient;
    await lock.query('SET statement_timeout = 0');
    await client.query({ text: 'SELECT pg_advisory_lock($1)', values: [MIGRATION_LOCK_ID], query_timeout: UNBOUNDED_QUERY_TIMEOUT_MS } as QueryConfig);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((migration) => migration.name);
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    }
  } finally {
    await lock.release();
  }
}
