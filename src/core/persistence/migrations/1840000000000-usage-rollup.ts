import { MigrationInterface, QueryRunner } from 'typeorm';
import { rollupSchema } from '../sqlite/usage-rollup';

/**
 * Usage reports (`GET /admin/usage`, `vega usage`): the daily rollup `usage_daily` kept by
 * triggers (see usage-rollup.ts), filled from the rows stored so far; and a covering index (time
 * first, then every column a report reads) for the partial days at a report's ends, so those read
 * the index alone and never the rows with their long texts. Chosen by measurement: computing a
 * 30-day report from the rows took seconds on 1M rows (README, database benchmark).
 */
export class UsageRollup1840000000000 implements MigrationInterface {
  name = 'UsageRollup1840000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS ix_conv_usage ON conversations
         (ts, key_id, model, source, status, prompt_tokens, completion_tokens, model_ms, duration_ms)`,
    );
    for (const statement of rollupSchema()) await queryRunner.query(statement);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const name of ['usage_daily_update', 'usage_daily_delete', 'usage_daily_insert']) await queryRunner.query(`DROP TRIGGER IF EXISTS ${name}`);
    await queryRunner.query(`DROP TABLE IF EXISTS usage_daily`);
    await queryRunner.query(`DROP INDEX IF EXISTS ix_conv_usage`);
  }
}
