import { KeyUsageSource } from '../../limits/key-usage.source';
import { ConversationHistoryRepository } from '../conversation-history.repository';
import type { PersistenceDialect } from '../persistence-dialect';
import { UsageRepository } from '../usage.repository';
import { openPgDataSource } from './pg-data-source-options';
import { PostgresConversationHistoryRepository } from './postgres-conversation-history.repository';
import { PostgresKeyUsageSource } from './postgres-key-usage.source';
import { PostgresUsageRepository } from './postgres-usage.repository';

/**
 * A PostgreSQL server (`DATABASE_URL=postgres://…`): the adapters, no server tasks (the server
 * checkpoints and vacuums itself), the data source opened with the migrations under a lock.
 */
export const POSTGRES_DIALECT: PersistenceDialect = {
  adapters: [
    { provide: ConversationHistoryRepository, useClass: PostgresConversationHistoryRepository },
    { provide: UsageRepository, useClass: PostgresUsageRepository },
    { provide: KeyUsageSource, useClass: PostgresKeyUsageSource },
  ],
  serverTasks: [],
  open: openPgDataSource,
};
