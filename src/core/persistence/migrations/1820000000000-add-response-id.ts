import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `response_id`: the `resp_…` id an exchange of OpenAI's Responses API (`/v1/responses`) was
 * answered under, so `GET`/`DELETE /v1/responses/{id}` and `previous_response_id` find it.
 * Null for every other exchange; unique where set (a partial index, so the nulls cost nothing).
 */
export class AddResponseId1820000000000 implements MigrationInterface {
  name = 'AddResponseId1820000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const existing = new Set(((await queryRunner.query(`PRAGMA table_info(conversations)`)) as { name: string }[]).map((c) => c.name));
    if (!existing.has('response_id')) await queryRunner.query(`ALTER TABLE conversations ADD COLUMN response_id TEXT NULL`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX IF NOT EXISTS ix_conv_response_id ON conversations (response_id) WHERE response_id IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS ix_conv_response_id`);
    await queryRunner.query(`ALTER TABLE conversations DROP COLUMN response_id`);
  }
}
