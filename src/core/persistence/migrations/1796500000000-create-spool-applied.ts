import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The keys of spooled exchanges already written back (see `ExchangeSpool`): a key is inserted in
 * the same transaction as its row, so a replay cut short and run again never stores a row twice.
 */
export class CreateSpoolApplied1796500000000 implements MigrationInterface {
  name = 'CreateSpoolApplied1796500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE IF NOT EXISTS spool_applied (key TEXT PRIMARY KEY) WITHOUT ROWID`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS spool_applied`);
  }
}
