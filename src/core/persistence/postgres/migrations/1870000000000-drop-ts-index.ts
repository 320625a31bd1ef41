import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `ix_conv_ts` repeats `ix_conv_usage`, whose key is the same `ts` (a B-tree is read in either
 * direction): every time bound, the purge and the usage report use the latter. One index less
 * is one insertion less per stored exchange (about 5 % of the server's CPU per row).
 */
export class PgDropTsIndex1870000000000 implements MigrationInterface {
  name = 'PgDropTsIndex1870000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS ix_conv_ts`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS ix_conv_ts ON conversations (ts DESC)`);
  }
}
