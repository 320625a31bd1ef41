import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Full-text search over prompt and response: an FTS5 table with external content (the text is
 * stored once, in `conversations`; the index holds only tokens), backfilled from the rows that
 * already exist, and kept in step by triggers. The update trigger fires only when the text
 * changes, so feedback (rating, tags, notes, reviewed) costs the index nothing.
 */
export class CreateConversationsFts1732480000000 implements MigrationInterface {
  name = 'CreateConversationsFts1732480000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE VIRTUAL TABLE IF NOT EXISTS conversations_fts USING fts5(
        prompt, response,
        content = 'conversations', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
      )`);
    await queryRunner.query(`INSERT INTO conversations_fts (conversations_fts) VALUES ('rebuild')`);
    await queryRunner.query(`
      CREATE TRIGGER IF NOT EXISTS conversations_fts_insert AFTER INSERT ON conversations BEGIN
        INSERT INTO conversations_fts (rowid, prompt, response) VALUES (new.id, new.prompt, new.response);
      END`);
    await queryRunner.query(`
      CREATE TRIGGER IF NOT EXISTS conversations_fts_delete AFTER DELETE ON conversations BEGIN
        INSERT INTO conversations_fts (conversations_fts, rowid, prompt, response)
          VALUES ('delete', old.id, old.prompt, old.response);
      END`);
    await queryRunner.query(`
      CREATE TRIGGER IF NOT EXISTS conversations_fts_update AFTER UPDATE OF prompt, response ON conversations BEGIN
        INSERT INTO conversations_fts (conversations_fts, rowid, prompt, response)
          VALUES ('delete', old.id, old.prompt, old.response);
        INSERT INTO conversations_fts (rowid, prompt, response) VALUES (new.id, new.prompt, new.response);
      END`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER IF EXISTS conversations_fts_update`);
    await queryRunner.query(`DROP TRIGGER IF EXISTS conversations_fts_delete`);
    await queryRunner.query(`DROP TRIGGER IF EXISTS conversations_fts_insert`);
    await queryRunner.query(`DROP TABLE IF EXISTS conversations_fts`);
  }
}
