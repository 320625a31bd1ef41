import { Module } from '@nestjs/common';
import { LlmModule } from '../../core/llm/llm.module';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { HistoryModule } from '../history/history.module';
import { AdminService } from './admin.service';
import { DatabaseAdminService } from './database-admin.service';

/** Settings, status and database maintenance without transport or schedules: shared by the HTTP app and the CLI. */
@Module({
  imports: [LlmModule, PersistenceModule, HistoryModule],
  providers: [AdminService, DatabaseAdminService],
  exports: [AdminService, DatabaseAdminService],
})
export class AdminModule {}
