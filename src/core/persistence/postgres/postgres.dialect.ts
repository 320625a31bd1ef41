import { ApiKeyRepository } from '../api-key.repository';
import { AuditLogRepository } from '../audit-log.repository';
import { ConversationRepository } from '../conversation.repository';
import { DatabaseMaintenance } from '../database-maintenance';
import type { PersistenceDialect } from '../persistence-dialect';
import { PgApiKeyRepository } from './pg-api-key.repository';
import { PgAuditLogRepository } from './pg-audit-log.repository';
import { PgConversationRepository } from './pg-conversation.repository';
import { migrateUnderLock, openPgDataSource } from './pg-data-source-options';
import { PgDatabaseMaintenance } from './pg-database-maintenance';

/**
 * A PostgreSQL server (`DATABASE_URL=postgres://…`): the adapters, no server tasks (the server
 * checkpoints and vacuums itself), the data source opened with the migrations under a lock.
 */
export const POSTGRES_DIALECT: PersistenceDialect = {
  adapters: [
    { provide: ConversationRepository, useClass: PgConversationRepository },
    { provide: AuditLogRepository, useClass: PgAuditLogRepository },
    { provide: ApiKeyRepository, useClass: PgApiKeyRepository },
    { provide: DatabaseMaintenance, useClass: PgDatabaseMaintenance },
  ],
  serverTasks: [],
  open: openPgDataSource,
  migrate: migrateUnderLock,
};
