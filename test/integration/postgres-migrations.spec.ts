import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../src/core/persistence/data-source-options';
import { openPgDataSource } from '../../src/core/persistence/postgres/pg-data-source-options';
import { openSqliteDataSource } from '../../src/core/persistence/sqlite/sqlite-data-source-options';
import { describeWithPostgres } from '../support/postgres';
import { queryDb } from '../support/sqlite';
import { tempDir } from '../support/test-app';
import { PG_MIGRATION_NAMES } from '../../src/core/persistence/postgres/migrations';

/** The tables the schema holds besides TypeORM's own and SQLite's FTS shadow tables. */
const TABLES = ['api_keys', 'audit_log', 'conversations', 'spool_applied', 'usage_daily'];

async function pgQuery<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** The SQLite schema's end state: columns per table and index names, from a file migrated by the SQLite migrations. */
async function sqliteSchema(): Promise<{ columns: Record<string, string[]>; indexes: string[] }> {
  const temp = tempDir('vega-schema-');
  const path = `${temp.dir}/vega.db`;
  const dataSource = await openSqliteDataSource(buildDataSourceOptions({ database: { type: 'sqlite', path } }));
  await dataSource.destroy();
  try {
    const columns: Record<string, string[]> = {};
    for (const table of TABLES) {
      columns[table] = (await queryDb<{ name: string }>(path, `SELECT name FROM pragma_table_info(?)`, [table])).map((c) => c.name).sort();
    }
    const indexes = await queryDb<{ name: string }>(path, `SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_%'`);
    return { columns, indexes: indexes.map((index) => index.name).sort() };
  } finally {
    temp.remove();
  }
}

describeWithPostgres('PostgreSQL migrations', (server) => {
  const open = (url: string) => openPgDataSource(buildDataSourceOptions({ database: { type: 'postgres', url } }));

  describe('on an empty database', () => {
    let url: string;
    let dataSource: DataSource;

    beforeAll(async () => {
      url = await server().createDatabase();
      dataSource = await open(url);
    });

    afterAll(async () => {
      await dataSource?.destroy();
    });

    it('creates every table, column and index of the SQLite schema', async () => {
      const expected = await sqliteSchema();
      for (const table of TABLES) {
        const rows = await pgQuery<{ column_name: string }>(
          url,
          `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`,
          [table],
        );
        const columns = rows.map((row) => row.column_name).filter((name) => name !== 'search_vector');
        expect({ table, columns: columns.sort() }).toEqual({ table, columns: expected.columns[table] });
      }
      const indexes = await pgQuery<{ indexname: string }>(url, `SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'ix_%'`);
      // ix_conv_ts is dropped on PostgreSQL: ix_conv_usage has the same key (1870000000000-drop-ts-index).
      const sqliteOnly = ['ix_conv_ts'];
      expect(indexes.map((index) => index.indexname)).toEqual(expect.arrayContaining(expected.indexes.filter((name) => !sqliteOnly.includes(name))));
      expect(indexes.map((index) => index.indexname)).not.toContain('ix_conv_ts');
    });

    it('indexes the texts for full-text search, the prompt weighted above the answer', async () => {
      await dataSource.query(
        `INSERT INTO conversations (prompt, response, tool_text) VALUES ('kestrel nesting', 'falcons hover', NULL), ('about birds', 'a kestrel hovers', 'get_weather city')`,
      );
      const rows: { prompt: string; rank: number }[] = await dataSource.query(
        `SELECT prompt, ts_rank_cd(search_vector, query) AS rank FROM conversations, to_tsquery('simple', 'kestrel') query
          WHERE search_vector @@ query ORDER BY rank DESC`,
      );
      expect(rows.map((row) => row.prompt)).toEqual(['kestrel nesting', 'about birds']);
      expect(rows[0].rank).toBeGreaterThan(rows[1].rank);
      const tools: unknown[] = await dataSource.query(`SELECT id FROM conversations WHERE search_vector @@ to_tsquery('simple', 'get_weather')`);
      expect(tools).toHaveLength(1);
      const plan: { 'QUERY PLAN': string }[] = await dataSource.query(
        `EXPLAIN SELECT id FROM conversations WHERE search_vector @@ to_tsquery('simple', 'kestrel')`,
      );
      // The GIN index exists for the planner to choose on a large table; on two rows a scan is cheaper.
      expect(plan.length).toBeGreaterThan(0);
      const gin = await pgQuery<{ indexdef: string }>(url, `SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_conv_search'`);
      expect(gin[0].indexdef).toMatch(/USING gin \(search_vector\)/);
    });

    it('keeps the daily usage rollup in step with inserts, updates and deletes', async () => {
      await dataSource.query(`DELETE FROM conversations`);
      await dataSource.query(
        `INSERT INTO conversations (ts, prompt, response, source, model, status, key_id, prompt_tokens, completion_tokens, model_ms, duration_ms)
         VALUES ('2026-03-01T10:00:00Z', 'a', 'b', 'api', 'm1', 'ok', 'k1', 10, 20, 300, 400),
                ('2026-03-01T23:59:59Z', 'a', 'b', 'api', 'm1', 'error', 'k1', 1, 2, 3, 0),
                ('2026-03-02T00:00:01Z', 'a', 'b', 'api', NULL, 'ok', NULL, 5, 5, 5, NULL)`,
      );
      const rollup = () =>
        dataSource.query(
          `SELECT day::text AS day, key_id, model, requests, prompt_tokens, completion_tokens, model_ms, errors, b0, b29
             FROM usage_daily WHERE requests <> 0 ORDER BY day, key_id`,
        );
      expect(await rollup()).toEqual([
        { day: '2026-03-01', key_id: 'k1', model: 'm1', requests: 2, prompt_tokens: 11, completion_tokens: 22, model_ms: 303, errors: 1, b0: 1, b29: 1 },
        { day: '2026-03-02', key_id: '', model: '', requests: 1, prompt_tokens: 5, completion_tokens: 5, model_ms: 5, errors: 0, b0: 0, b29: 0 },
      ]);
      await dataSource.query(`UPDATE conversations SET rating = 5`); // feedback: the rollup stays as it is
      await dataSource.query(`UPDATE conversations SET prompt_tokens = 100 WHERE status = 'error'`);
      await dataSource.query(`DELETE FROM conversations WHERE key_id IS NULL`);
      expect(await rollup()).toEqual([
        { day: '2026-03-01', key_id: 'k1', model: 'm1', requests: 2, prompt_tokens: 110, completion_tokens: 22, model_ms: 303, errors: 1, b0: 1, b29: 1 },
      ]);
    });

    it('finds nothing left to do when opened again', async () => {
      const again = await open(url);
      await again.destroy();
      const applied = await pgQuery(url, `SELECT name FROM migrations`);
      expect(applied).toHaveLength(PG_MIGRATION_NAMES.length);
    });
  });

  it('migrates once when several instances open one empty database at once', async () => {
    const url = await server().createDatabase();
    const dataSources = await Promise.all([open(url), open(url), open(url)]);
    await Promise.all(dataSources.map((dataSource) => dataSource.destroy()));
    expect(await pgQuery(url, `SELECT name FROM migrations`)).toEqual(PG_MIGRATION_NAMES.map((name) => ({ name })));
  });

  it('leaves the schema alone with MIGRATIONS_RUN=false', async () => {
    const url = await server().createDatabase();
    const dataSource = await openPgDataSource(buildDataSourceOptions({ database: { type: 'postgres', url, migrationsRun: false } }));
    await dataSource.destroy();
    expect(await pgQuery(url, `SELECT to_regclass('public.conversations') AS t`)).toEqual([{ t: null }]);
  });
});
