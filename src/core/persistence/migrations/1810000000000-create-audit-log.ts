import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit log of model management (`/api/pull`, `/api/create`, `/api/delete`…): who (the key
 * id), what (route, models), when, the outcome with its HTTP status, how long it took and a short
 * detail. Rows are only ever appended; pages are read newest first by id.
 */
export class CreateAuditLog1810000000000 implements MigrationInterface {
  name = 'CreateAuditLog1810000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE IF NOT EXISTS audit_log (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      ts TEXT NOT NULL,
      key_id TEXT NOT NULL,
      route TEXT NOT NULL,
      models TEXT NOT NULL DEFAULT '[]',
      outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'error', 'aborted')),
      status INTEGER NOT NULL,
      duration_ms INTEGER NOT NULL,
      detail TEXT
    )`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ix_audit_log_ts ON audit_log (ts)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS audit_log`);
  }
}
