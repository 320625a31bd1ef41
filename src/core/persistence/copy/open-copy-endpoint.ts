import { existsSync } from 'node:fs';
import type { DataSource } from 'typeorm';
import type { DatabaseLocation } from '../../../config/database-url';
import { databaseLabel } from '../database-settings';
import { PersistenceModule } from '../persistence.module';
import { PostgresCopyEndpoint } from '../postgres/postgres-copy-endpoint';
import { SqliteCopyEndpoint } from '../sqlite/sqlite-copy-endpoint';
import type { CopyEndpoint } from './copy-endpoint';
import { CopyRefusedError } from './database-copy';

/**
 * Opens one side of a copy. The target is migrated as Vega migrates at start (an empty
 * PostgreSQL database gets the schema, under the advisory lock; a new SQLite file is made). The
 * source is only read: it must exist and be at this Vega's schema already — a copy never
 * changes its source, so an older one is refused with the step that brings it up to date.
 */
export async function openCopyEndpoint(location: DatabaseLocation, role: 'source' | 'target'): Promise<CopyEndpoint> {
  const label = databaseLabel(location);
  if (role === 'source' && location.type === 'sqlite' && !existsSync(location.path)) {
    throw new CopyRefusedError(`the source ${label} does not exist`);
  }
  const dataSource = await PersistenceModule.open({ ...location, migrationsRun: role === 'target' }).catch((error: unknown) => {
    throw new Error(`cannot open the ${role} ${label}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
  const endpoint = location.type === 'sqlite' ? new SqliteCopyEndpoint(label, dataSource) : new PostgresCopyEndpoint(label, dataSource);
  if (role === 'source' && (await pendingMigrations(dataSource)) > 0) {
    await endpoint.close();
    throw new CopyRefusedError(`the source ${label} has migrations pending: run \`DATABASE_URL=… vega db migrate\` on it first (a copy only reads its source)`);
  }
  return endpoint;
}

/** How many of this Vega's migrations the database has not run (TypeORM's own check would create its table). */
async function pendingMigrations(dataSource: DataSource): Promise<number> {
  const applied = await dataSource.query(`SELECT name FROM migrations`).then(
    (rows: { name: string }[]) => new Set(rows.map((row) => row.name)),
    () => new Set<string>(),
  );
  return dataSource.migrations.filter((migration) => !applied.has(migration.name ?? migration.constructor.name)).length;
}
