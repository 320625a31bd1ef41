import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { LlmModule } from '../../core/llm/llm.module';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { HistoryModule } from '../history/history.module';
import { AdminController } from './admin.controller';
import { AdminService } from './admin.service';
import { DatabaseAdminController } from './database-admin.controller';
import { DatabaseAdminService } from './database-admin.service';
import { RetentionService } from './retention.service';

@Module({
  imports: [ScheduleModule.forRoot(), LlmModule, PersistenceModule, HistoryModule],
  controllers: [AdminController, DatabaseAdminController],
  providers: [AdminService, DatabaseAdminService, RetentionService],
  exports: [AdminService, DatabaseAdminService],
})
export class AdminModule {}
