import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `served_model` and `target`: which model answered an exchange (the one asked for, kept in
 * `model`, or one of its fallbacks) and which model server (target, by its name) did. Null for
 * an exchange no server answered, for an answer from the cache (`target`), and for rows stored
 * before Vega routed over several servers.
 */
export class AddServedModel1850000000000 implements MigrationInterface {
  name = 'AddServedModel1850000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const existing = new Set(((await queryRunner.query(`PRAGMA table_info(conversations)`)) as { name: string }[]).map((c) => c.name));
    if (!existing.has('served_model')) await queryRunner.query(`ALTER TABLE conversations ADD COLUMN served_model TEXT NULL`);
    if (!existing.has('target')) await queryRunner.query(`ALTER TABLE conversations ADD COLUMN target TEXT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE conversations DROP COLUMN target`);
    await queryRunner.query(`ALTER TABLE conversations DROP COLUMN served_model`);
  }
}
