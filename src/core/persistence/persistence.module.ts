import { Abstract, DynamicModule, Module, Provider } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { CallerContextModule } from '../../common/auth/caller-context';
import { KeyUsageSource } from '../limits/key-usage.source';
import { ApiKeyRepository } from './api-key.repository';
import { AuditLogRepository } from './audit-log.repository';
import { ConversationHistoryRepository } from './conversation-history.repository';
import { ConversationRepository } from './conversation.repository';
import { ConversationsService } from './conversations.service';
import { buildDataSourceOptions, type DataSourceSettings } from './data-source-options';
import { DatabaseHealth } from './database-health';
import { DatabaseMaintenance } from './database-maintenance';
import type { DatabaseDialect, DatabaseSettings } from './database-settings';
import { ExchangeSpool } from './exchange-spool';
import type { PersistenceDialect } from './persistence-dialect';
import { POSTGRES_DIALECT } from './postgres/postgres.dialect';
import { SQLITE_DIALECT } from './sqlite/sqlite.dialect';
import { UsageRepository } from './usage.repository';

const DIALECTS: Record<DatabaseDialect, PersistenceDialect> = { sqlite: SQLITE_DIALECT, postgres: POSTGRES_DIALECT };

/** The ports every dialect binds an adapter to; the features depend on these alone. */
export const PERSISTENCE_PORTS: readonly Abstract<unknown>[] = [
  ConversationRepository,
  ConversationHistoryRepository,
  UsageRepository,
  AuditLogRepository,
  ApiKeyRepository,
  KeyUsageSource,
  DatabaseMaintenance,
];

/**
 * The database: TypeORM's data source, the persistence ports bound to the adapters of the
 * dialect `DATABASE_URL` names, the exchange write path and the spool. `forRoot` is imported once,
 * by the root module (the HTTP app's core, or the CLI root for a command that uses the database),
 * and is global. A feature module lists the bare `PersistenceModule` in its imports to say it
 * uses the database: the CLI root loads the database only for commands whose modules do
 * (`CliAppModule.forCommand`), so `vega net scan` never opens the file.
 */
@Module({})
export class PersistenceModule {
  static forRoot(database: DatabaseSettings): DynamicModule {
    const dialect = DIALECTS[database.type];
    return {
      module: PersistenceModule,
      global: true,
      imports: [
        // Who is calling: what an exchange is stored under (global, so one for the whole graph).
        CallerContextModule,
        TypeOrmModule.forRootAsync({
          // A database that cannot be opened is a configuration problem: fail at once, do not retry.
          useFactory: () => ({ ...buildDataSourceOptions({ database }), retryAttempts: 0 }),
          // A damaged file stops the start with the way out (restore a backup), not the engine's bare words.
          dataSourceFactory: (options) => dialect.open(options!).catch((error: unknown) => {
            throw new DatabaseHealth().translate(error);
          }),
        }),
      ],
      providers: [...dialect.adapters, ConversationsService, DatabaseHealth, ExchangeSpool],
      // The ports the dialect binds (every one, once a dialect is complete: see the unit test).
      exports: [...PERSISTENCE_PORTS.filter((port) => boundPorts(dialect).has(port)), ConversationsService, DatabaseHealth, ExchangeSpool],
    };
  }

  /** Runs the pending migrations of the dialect the settings name; returns their names. */
  static migrate(database: DatabaseSettings, dataSource: DataSource): Promise<string[]> {
    return DIALECTS[database.type].migrate(dataSource);
  }

  /**
   * Opens a database outside the app's graph (`vega db copy`'s two sides) as the app opens its
   * own: the dialect's session settings, the migrations when `migrationsRun` (PostgreSQL's under the lock).
   */
  static open(database: DataSourceSettings): Promise<DataSource> {
    return DIALECTS[database.type].open(buildDataSourceOptions({ database }));
  }

  /** The dialect's background work that only a long-running server does (SQLite: the WAL checkpointer). */
  static serverTasks(database: DatabaseSettings): Provider[] {
    return DIALECTS[database.type].serverTasks;
  }
}

function boundPorts(dialect: PersistenceDialect): Set<unknown> {
  return new Set(dialect.adapters.map((provider) => (typeof provider === 'function' ? provider : provider.provide)));
}
