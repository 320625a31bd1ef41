import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ids of the exchanges that got no full answer (`error`, `aborted`), in a partial index: small,
 * as such rows are few. Relevance search ranks them after the answered ones and reads the set from
 * here, so ranking stays on the FTS index instead of reading every matching row for its status.
 */
export class IndexFailedConversations1764979200000 implements MigrationInterface {
  name = 'IndexFailedConversations1764979200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ix_conv_failed ON conversations (id) WHERE status IN ('error', 'aborted')`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS ix_conv_failed`);
  }
}
