import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A covering index for usage reports (`GET /admin/usage`, `vega usage`): the time first (a report
 * reads a range), then every column a report groups by or sums, so a report reads the index
 * alone and never the rows with their long texts. Chosen by measurement over a rollup table kept
 * by triggers (the README's benchmark section has the figures).
 */
export class IndexUsage1840000000000 implements MigrationInterface {
  name = 'IndexUsage1840000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS ix_conv_usage ON conversations
         (ts, key_id, model, source, status, prompt_tokens, completion_tokens, model_ms, duration_ms)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS ix_conv_usage`);
  }
}
