import type { DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../../config/app-config';
import { ConversationEntity } from './conversation.entity';
import { MIGRATIONS } from './migrations';

/** The one place TypeORM is configured: used by the app, by `ormconfig.ts` and by the tests. */
export function buildDataSourceOptions(config: Pick<AppConfig, 'database'>): DataSourceOptions {
  return {
    type: 'sqlite',
    database: config.database.path,
    enableWAL: true,
    busyTimeout: 5000,
    entities: [ConversationEntity],
    migrations: MIGRATIONS,
    migrationsRun: true,
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
  };
}
