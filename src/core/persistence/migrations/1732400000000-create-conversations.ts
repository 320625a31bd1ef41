import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The original schema (table, `ix_conv_ts`, `ix_conv_session`) plus the columns Vega adds:
 * model, status, token counts and timings. A database made by the Python original already
 * has the table: the migration then only adds what is missing, so its history survives.
 */
export class CreateConversations1732400000000 implements MigrationInterface {
  name = 'CreateConversations1732400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS conversations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
        prompt TEXT NOT NULL,
        response TEXT NOT NULL,
        source VARCHAR(32) NOT NULL DEFAULT 'api',
        session_id VARCHAR(64) NULL,
        rating INTEGER NULL,
        tags TEXT NULL,
        notes TEXT NULL,
        reviewed INTEGER NOT NULL DEFAULT 0
      )`);
    const existing = new Set(
      ((await queryRunner.query(`PRAGMA table_info(conversations)`)) as { name: string }[]).map((c) => c.name),
    );
    const added: [string, string][] = [
      ['model', 'VARCHAR(200) NULL'],
      ['status', "VARCHAR(16) NOT NULL DEFAULT 'ok'"],
      ['prompt_tokens', 'INTEGER NULL'],
      ['completion_tokens', 'INTEGER NULL'],
      ['duration_ms', 'INTEGER NULL'],
      ['ttft_ms', 'INTEGER NULL'],
    ];
    for (const [column, definition] of added) {
      if (!existing.has(column)) await queryRunner.query(`ALTER TABLE conversations ADD COLUMN ${column} ${definition}`);
    }
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ix_conv_ts ON conversations (ts DESC)`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ix_conv_session ON conversations (session_id, id DESC)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS ix_conv_session`);
    await queryRunner.query(`DROP INDEX IF EXISTS ix_conv_ts`);
    await queryRunner.query(`DROP TABLE IF EXISTS conversations`);
  }
}
