import { ApiKeyRepository } from '../api-key.repository';
import { AuditLogRepository } from '../audit-log.repository';
import { ConversationRepository } from '../conversation.repository';
import { DatabaseMaintenance } from '../database-maintenance';
import type { PersistenceDialect } from '../persistence-dialect';
import { PostgresApiKeyRepository } from './postgres-api-key.repository';
import { PostgresAuditLogRepository } from './postgres-audit-log.repository';
import { PostgresConversationRepository } from './postgres-conversation.repository';
import { migrateUnderLock, openPgDataSource } from './pg-data-source-options';
import { PostgresDatabaseMaintenance } from './postgres-database-maintenance';

/**
 * A PostgreSQL server (`DATABASE_URL=postgres://…`): the adapters, no server tasks (the server
 * checkpoints and vacuums itself), the data source opened with the migrations under a lock.
 */
export const POSTGRES_DIALECT: PersistenceDialect = {
  adapters: [
    { provide: ConversationRepository, useClass: PostgresConversationRepository },
    { provide: AuditLogRepository, useClass: PostgresAuditLogRepository },
    { provide: ApiKeyRepository, useClass: PostgresApiKeyRepository },
    { provide: DatabaseMaintenance, useClass: PostgresDatabaseMaintenance },
  ],
  serverTasks: [],
  open: openPgDataSource,
  migrate: migrateUnderLock,
};
