import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { CurateModule } from '../datasets/curate.module';
import { HistoryModule } from '../history/history.module';
import { AdminController } from './admin.controller';
import { AdminModule } from './admin.module';
import { DatabaseAdminController } from './database-admin.controller';
import { RetentionService } from './retention.service';

/**
 * The admin routes and the daily retention job. Only the long-running HTTP app schedules
 * retention: a CLI command must not start a cron.
 */
@Module({
  imports: [ScheduleModule.forRoot(), AdminModule, HistoryModule, CurateModule],
  controllers: [AdminController, DatabaseAdminController],
  providers: [RetentionService],
})
export class AdminHttpModule {}
