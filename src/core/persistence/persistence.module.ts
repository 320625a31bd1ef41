import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { CallerContextModule } from '../../common/auth/caller-context';
import { buildDataSourceOptions } from './data-source-options';
import { ConversationRepository } from './conversation.repository';
import { TypeOrmConversationRepository } from './typeorm-conversation.repository';
import { ConversationsService } from './conversations.service';
import { ConversationHistoryRepository } from './conversation-history.repository';
import { TypeOrmConversationHistoryRepository } from './typeorm-conversation-history.repository';
import { DatabaseMaintenance } from './database-maintenance';
import { SqliteDatabaseMaintenance } from './sqlite-database-maintenance';
import { DatabaseHealth } from './database-health';
import { ExchangeSpool } from './exchange-spool';

@Module({
  imports: [
    // Who is calling: what an exchange is stored under (global, so one for the whole graph).
    CallerContextModule,
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      // A database that cannot be opened is a configuration problem: fail at once, do not retry.
      useFactory: (config: AppConfig) => ({ ...buildDataSourceOptions(config), retryAttempts: 0 }),
      dataSourceFactory: async (options) => {
        // A damaged file stops the start with the way out (restore a backup), not SQLite's bare words.
        const dataSource = await new DataSource(options!).initialize().catch((error: unknown) => {
          throw new DatabaseHealth().translate(error);
        });
        // WAL makes NORMAL durable against application crashes; only an OS crash can lose
        // the last commits, and it saves an fsync on every stored exchange.
        await dataSource.query('PRAGMA synchronous = NORMAL');
        return dataSource;
      },
    }),
  ],
  providers: [
    { provide: ConversationRepository, useClass: TypeOrmConversationRepository },
    ConversationsService,
    { provide: ConversationHistoryRepository, useClass: TypeOrmConversationHistoryRepository },
    { provide: DatabaseMaintenance, useClass: SqliteDatabaseMaintenance },
    DatabaseHealth,
    ExchangeSpool,
  ],
  exports: [ConversationsService, ConversationHistoryRepository, DatabaseMaintenance, DatabaseHealth],
})
export class PersistenceModule {}
