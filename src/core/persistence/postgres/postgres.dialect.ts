import type { PersistenceDialect } from '../persistence-dialect';
import { openPgDataSource } from './pg-data-source-options';

/**
 * A PostgreSQL server (`DATABASE_URL=postgres://…`): the adapters, no server tasks (the server
 * checkpoints and vacuums itself), the data source opened with the migrations under a lock.
 */
export const POSTGRES_DIALECT: PersistenceDialect = {
  adapters: [],
  serverTasks: [],
  open: openPgDataSource,
};
