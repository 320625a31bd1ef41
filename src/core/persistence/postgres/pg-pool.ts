import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/**
 * The `pg` pool under TypeORM's data source: the adapters' hot paths use it for what TypeORM's
 * `query` cannot do, named prepared statements (typeorm 0.3's PostgresDriver keeps it as `master`).
 */
export function pgPool(dataSource: DataSource): Pool {
  const pool = (dataSource.driver as PostgresDriver).master as Pool | undefined;
  if (!pool) throw new Error('the PostgreSQL data source is not open');
  return pool;
}
