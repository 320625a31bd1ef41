import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Cron, CronExpression, SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig } from '../../config/app-config';
import { DatabaseAdminService, PurgeResult } from './database-admin.service';

export const RETENTION_JOB = 'retention-purge';

/** `RETENTION_DAYS > 0`: once a day, conversations older than that are purged and the count logged. */
@Injectable()
export class RetentionService implements OnApplicationBootstrap {
  private readonly logger = new Logger(RetentionService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly databaseAdmin: DatabaseAdminService,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  /** The job is declared stopped; it only runs when retention is configured. */
  onApplicationBootstrap(): void {
    if (this.config.retention.days > 0) this.scheduler.getCronJob(RETENTION_JOB).start();
  }

  @Cron(CronExpression.EVERY_DAY_AT_3AM, { name: RETENTION_JOB, disabled: true, waitForCompletion: true })
  async runOnce(): Promise<PurgeResult | undefined> {
    const days = this.config.retention.days;
    if (days <= 0) return undefined;
    try {
      const result = await this.databaseAdmin.purgeOlderThan(days);
      this.logger.log(`Retention: deleted ${result.deleted} conversation(s) older than ${days} day(s) (before ${result.before.toISOString()})`);
      return result;
    } catch (error) {
      this.logger.error(`Retention purge failed: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  }
}
