import { KeyUsageSource } from '../../limits/key-usage.source';
import { ApiKeyRepository } from '../api-key.repository';
import { AuditLogRepository } from '../audit-log.repository';
import { ConversationHistoryRepository } from '../conversation-history.repository';
import { ConversationRepository } from '../conversation.repository';
import { DatabaseMaintenance } from '../database-maintenance';
import type { PersistenceDialect } from '../persistence-dialect';
import { UsageRepository } from '../usage.repository';
import { SqliteApiKeyRepository } from './sqlite-api-key.repository';
import { SqliteAuditLogRepository } from './sqlite-audit-log.repository';
import { SqliteConversationHistoryRepository } from './sqlite-conversation-history.repository';
import { SqliteConversationRepository } from './sqlite-conversation.repository';
import { openSqliteDataSource } from './sqlite-data-source-options';
import { SqliteDatabaseMaintenance } from './sqlite-database-maintenance';
import { SqliteKeyUsageSource } from './sqlite-key-usage.source';
import { SqliteUsageRepository } from './sqlite-usage.repository';
import { WalCheckpointer } from './wal-checkpointer';

/** One SQLite file (`DATABASE_URL=sqlite:<path>`, the default): the adapters, the WAL checkpointer. */
export const SQLITE_DIALECT: PersistenceDialect = {
  adapters: [
    { provide: ConversationRepository, useClass: SqliteConversationRepository },
    { provide: ConversationHistoryRepository, useClass: SqliteConversationHistoryRepository },
    { provide: UsageRepository, useClass: SqliteUsageRepository },
    { provide: AuditLogRepository, useClass: SqliteAuditLogRepository },
    { provide: ApiKeyRepository, useClass: SqliteApiKeyRepository },
    { provide: KeyUsageSource, useClass: SqliteKeyUsageSource },
    { provide: DatabaseMaintenance, useClass: SqliteDatabaseMaintenance },
  ],
  serverTasks: [WalCheckpointer],
  open: openSqliteDataSource,
  // One file, one writer: SQLite's own lock keeps two migrating processes apart.
  migrate: async (dataSource) => (await dataSource.runMigrations({ transaction: 'each' })).map((migration) => migration.name),
};
