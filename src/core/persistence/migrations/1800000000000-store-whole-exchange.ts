import { MigrationInterface, QueryRunner } from 'typeorm';

const FTS_TABLE = (columns: string) => `
  CREATE VIRTUAL TABLE conversations_fts USING fts5(
    ${columns},
    content = 'conversations', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
  )`;

/** The three triggers that keep an external-content FTS5 table in step with `conversations`. */
function triggers(columns: string[]): string[] {
  const list = columns.join(', ');
  const values = (row: 'new' | 'old') => columns.map((column) => `${row}.${column}`).join(', ');
  return [
    `CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
      INSERT INTO conversations_fts (rowid, ${list}) VALUES (new.id, ${values('new')});
    END`,
    `CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
      INSERT INTO conversations_fts (conversations_fts, rowid, ${list}) VALUES ('delete', old.id, ${values('old')});
    END`,
    `CREATE TRIGGER conversations_fts_update AFTER UPDATE OF ${list} ON conversations BEGIN
      INSERT INTO conversations_fts (conversations_fts, rowid, ${list}) VALUES ('delete', old.id, ${values('old')});
      INSERT INTO conversations_fts (rowid, ${list}) VALUES (new.id, ${values('new')});
    END`,
  ];
}

async function replaceIndex(queryRunner: QueryRunner, columns: string[]): Promise<void> {
  for (const name of ['conversations_fts_update', 'conversations_fts_delete', 'conversations_fts_insert']) {
    await queryRunner.query(`DROP TRIGGER IF EXISTS ${name}`);
  }
  await queryRunner.query(`DROP TABLE IF EXISTS conversations_fts`);
  await queryRunner.query(FTS_TABLE(columns.join(', ')));
  await queryRunner.query(`INSERT INTO conversations_fts (conversations_fts) VALUES ('rebuild')`);
  for (const sql of triggers(columns)) await queryRunner.query(sql);
}

/**
 * Each exchange keeps its whole request and answer (JSON text, `StoredRequest`/`StoredAnswer`)
 * and its kind; rows from before have none (null) and are chats. Search also covers the tools:
 * `tool_text` holds the tool names and call arguments as words, and the FTS index gains it as
 * a third column. FTS5 cannot add a column, so the index is made anew and rebuilt from the
 * table: the rows stored before stay searchable.
 */
export class StoreWholeExchange1800000000000 implements MigrationInterface {
  name = 'StoreWholeExchange1800000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const existing = new Set(
      ((await queryRunner.query(`PRAGMA table_info(conversations)`)) as { name: string }[]).map((c) => c.name),
    );
    const added: [string, string][] = [
      ['kind', "VARCHAR(16) NOT NULL DEFAULT 'chat'"],
      ['request', 'TEXT NULL'],
      ['answer', 'TEXT NULL'],
      ['tool_text', 'TEXT NULL'],
    ];
    for (const [column, definition] of added) {
      if (!existing.has(column)) await queryRunner.query(`ALTER TABLE conversations ADD COLUMN ${column} ${definition}`);
    }
    await replaceIndex(queryRunner, ['prompt', 'response', 'tool_text']);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await replaceIndex(queryRunner, ['prompt', 'response']);
    for (const column of ['tool_text', 'answer', 'request', 'kind']) {
      await queryRunner.query(`ALTER TABLE conversations DROP COLUMN ${column}`);
    }
  }
}
