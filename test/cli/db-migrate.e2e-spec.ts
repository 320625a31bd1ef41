import { Client } from 'pg';
import { runVega } from '../support/cli';
import { describeWithPostgres } from '../support/postgres';
import { queryDb } from '../support/sqlite';
import { tempDir } from '../support/test-app';
import { PG_MIGRATION_NAMES } from '../../src/core/persistence/postgres/migrations';

describe('vega db migrate (SQLite)', () => {
  const temp = tempDir('vega-migrate-');
  afterAll(() => temp.remove());

  it('applies the migrations that MIGRATIONS_RUN=false left pending, then finds none', async () => {
    const env = { VEGA_DATA_DIR: temp.dir, MIGRATIONS_RUN: 'false' };
    const first = await runVega(['db', 'migrate', '--json'], { env });
    expect(first.code).toBe(0);
    const { applied } = JSON.parse(first.stdout) as { applied: string[] };
    expect(applied).toEqual(expect.arrayContaining(['CreateConversations1732400000000', 'AddServedModel1850000000000']));
    expect(await queryDb(`${temp.dir}/vega.db`, `SELECT count(*) AS n FROM migrations`)).toEqual([{ n: applied.length }]);
    const second = await runVega(['db', 'migrate'], { env });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/vega\.db: the schema is up to date/);
  }, 60_000);
});

describeWithPostgres('vega db migrate (PostgreSQL)', (server) => {
  const temp = tempDir('vega-migrate-pg-');
  afterAll(() => temp.remove());

  it('three runs at once on an empty database: one migrates, the others wait and find it done', async () => {
    const url = await server().createDatabase();
    const withPassword = url.replace('postgres://vega@', 'postgres://vega:s3cret-pw@');
    const env = { VEGA_DATA_DIR: temp.dir, DATABASE_URL: withPassword, MIGRATIONS_RUN: 'false' };
    const runs = await Promise.all([0, 1, 2].map(() => runVega(['db', 'migrate', '--json'], { env })));
    for (const run of runs) {
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
      // Trust auth ignores the password; it must never be shown.
      expect(run.stdout).not.toContain('s3cret-pw');
    }
    const applied = runs.map((run) => (JSON.parse(run.stdout) as { applied: string[] }).applied);
    expect(applied.flat()).toEqual(PG_MIGRATION_NAMES);
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      expect((await client.query('SELECT name FROM migrations')).rows).toEqual(PG_MIGRATION_NAMES.map((name) => ({ name })));
    } finally {
      await client.end();
    }
  }, 90_000);
});
