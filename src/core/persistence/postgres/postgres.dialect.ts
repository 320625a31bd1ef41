import { KeyUsageSource } from '../../limits/key-usage.source';
import { ApiKeyRepository } from '../api-key.repository';
import { AuditLogRepository } from '../audit-log.repository';
import { ConversationHistoryRepository } from '../conversation-history.repository';
import { ConversationRepository } from '../conversation.repository';
import { DatabaseMaintenance } from '../database-maintenance';
import type { PersistenceDialect } from '../persistence-dialect';
import { UsageRepository } from '../usage.repository';
import { migrateUnderLock, openPgDataSource } from './pg-data-source-options';
import { PostgresApiKeyRepository } from './postgres-api-key.repository';
import { PostgresAuditLogRepository } from './postgres-audit-log.repository';
import { PostgresConversationHistoryRepository } from './postgres-conversation-history.repository';
import { PostgresConversationRepository } from './postgres-conversation.repository';
import { PostgresDatabaseMaintenance } from './postgres-database-maintenance';
import { PostgresKeyUsageSource } from './postgres-key-usage.source';
import { PostgresUsageRepository } from './postgres-usage.repository';

/**
 * A PostgreSQL server (`DATABASE_URL=postgres://…`): the adapters, no server tasks (the server
 * checkpoints and vacuums itself), the data source opened with the migrations under a lock.
 */
export const POSTGRES_DIALECT: PersistenceDialect = {
  adapters: [
    { provide: ConversationRepository, useClass: PostgresConversationRepository },
    { provide: ConversationHistoryRepository, useClass: PostgresConversationHistoryRepository },
    { provide: UsageRepository, useClass: PostgresUsageRepository },
    { provide: AuditLogRepository, useClass: PostgresAuditLogRepository },
    { provide: ApiKeyRepository, useClass: PostgresApiKeyRepository },
    { provide: KeyUsageSource, useClass: PostgresKeyUsageSource },
    { provide: DatabaseMaintenance, useClass: PostgresDatabaseMaintenance },
  ],
  serverTasks: [],
  open: openPgDataSource,
  migrate: migrateUnderLock,
};
