import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Managed API keys, and who made each exchange. A key keeps its SHA-256 digest (never the
 * secret) and a short visible prefix for display; scopes, the model allow-list and the limits are
 * JSON. `conversations.key_id` is the key that made the exchange (null: the CLI, an integration,
 * rows from before); `model_ms` the backend's time spent generating it (usage and budgets count
 * model-seconds from it). Indexed for one key's rows newest first, and for reports over a time range.
 */
export class CreateApiKeys1830000000000 implements MigrationInterface {
  name = 'CreateApiKeys1830000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE IF NOT EXISTS api_keys (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      secret_hash TEXT NOT NULL UNIQUE,
      prefix TEXT NOT NULL,
      scopes TEXT NOT NULL,
      models TEXT,
      limits TEXT NOT NULL DEFAULT '{}',
      expires_at TEXT,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      last_used_at TEXT,
      revoked_at TEXT
    )`);
    await queryRunner.query(`ALTER TABLE conversations ADD COLUMN key_id TEXT`);
    await queryRunner.query(`ALTER TABLE conversations ADD COLUMN model_ms INTEGER`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ix_conversations_key_id ON conversations (key_id, id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS ix_conversations_key_id`);
    await queryRunner.query(`ALTER TABLE conversations DROP COLUMN model_ms`);
    await queryRunner.query(`ALTER TABLE conversations DROP COLUMN key_id`);
    await queryRunner.query(`DROP TABLE IF EXISTS api_keys`);
  }
}
