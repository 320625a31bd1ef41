import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client, types } from 'pg';
import { DataSource } from 'typeorm';
import { PG_MIGRATIONS } from '../../src/core/persistence/postgres/migrations';
import { migrateUnderLock, pgDataSourceOptions } from '../../src/core/persistence/postgres/pg-data-source-options';
import { findPostgresTool } from '../../src/core/persistence/postgres/pg-tools';

/**
 * The engine the e2e suites run their apps on: SQLite (the default, a file per app) or, with
 * `VEGA_TEST_DATABASE=postgres`, PostgreSQL (a fresh database per app on the one server that
 * jest's global setup starts, test/support/global-setup.ts). The same suites run on both: a
 * matrix, not a copy. Tests about SQLite itself say so with `describeSqliteOnly`/`itSqliteOnly`.
 */
export type TestDatabase = 'sqlite' | 'postgres';

export function testDatabase(): TestDatabase {
  const value = process.env.VEGA_TEST_DATABASE ?? 'sqlite';
  if (value !== 'sqlite' && value !== 'postgres') throw new Error(`VEGA_TEST_DATABASE must be sqlite or postgres, not ${value}`);
  return value;
}

/** The server (its admin URL) on which the apps' databases are created; set by the global setup. */
export const SHARED_POSTGRES_ENV = 'VEGA_TEST_SHARED_POSTGRES_URL';

function skipNote(name: string, reason: string): string {
  return `Skipping "${name}" on PostgreSQL (VEGA_TEST_DATABASE=postgres): SQLite only, ${reason}\n`;
}

/**
 * `describe` for tests about SQLite itself (its file, WAL, locks, corruption, FTS5 tables): run
 * on SQLite, skipped on PostgreSQL with the reason printed and kept in the suite's name.
 */
export function describeSqliteOnly(name: string, reason: string, body: () => void): void {
  if (testDatabase() === 'sqlite') return describe(name, body);
  process.stderr.write(skipNote(name, reason));
  describe.skip(`${name} [SQLite only: ${reason}]`, body);
}

/** `it` for a single test about SQLite itself, inside a suite that runs on both engines. */
export function itSqliteOnly(name: string, reason: string, body: jest.ProvidesCallback, timeout?: number): void {
  if (testDatabase() === 'sqlite') return it(name, body, timeout);
  process.stderr.write(skipNote(name, reason));
  it.skip(`${name} [SQLite only: ${reason}]`, body, timeout);
}

/** Whether a test app's database target (`TestApp.dbPath`) is a PostgreSQL URL rather than a SQLite file. */
export const isPostgresTarget = (target: string): boolean => /^postgres(ql)?:\/\//.test(target);

/**
 * The database every test app's database is copied from: Vega's migrations already run (once, by
 * the global setup). Its name is the run's own, so runs sharing an external server never collide.
 */
const TEMPLATE_ENV = 'VEGA_TEST_TEMPLATE_DATABASE';

const databaseUrl = (admin: string, name: string): string => {
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
};

/**
 * Makes the template on the shared server: Vega's own migrations, as the app runs them. Each test
 * app's database is a copy (CREATE DATABASE … TEMPLATE, a file copy): the app finds its schema
 * up to date instead of building it again, which keeps a suite of hundreds of apps cheap. That the
 * migrations build the schema from nothing is tested on its own (test/integration/postgres-migrations.spec.ts).
 */
export async function createTemplateDatabase(admin: string): Promise<void> {
  const template = `vega_e2e_template_${randomBytes(4).toString('hex')}`;
  await withClient(admin, (client) => client.query(`CREATE DATABASE ${template}`));
  const dataSource = await new DataSource({ ...pgDataSourceOptions({ url: databaseUrl(admin, template) }), migrations: PG_MIGRATIONS }).initialize();
  try {
    await migrateUnderLock(dataSource);
  } finally {
    await dataSource.destroy();
  }
  process.env[TEMPLATE_ENV] = template;
}

/** Drops the template (an external server keeps nothing of the run). */
export async function dropTemplateDatabase(admin: string): Promise<void> {
  const template = process.env[TEMPLATE_ENV];
  if (template) await withClient(admin, (client) => client.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`));
}

/** A fresh database on the shared server, Vega's schema in it and no rows; returns its URL. */
export async function createTestDatabase(): Promise<string> {
  const admin = process.env[SHARED_POSTGRES_ENV];
  if (!admin) throw new Error(`VEGA_TEST_DATABASE=postgres needs the shared server of jest's global setup (${SHARED_POSTGRES_ENV} is not set)`);
  const template = process.env[TEMPLATE_ENV];
  if (!template) throw new Error(`the global setup made no template database (${TEMPLATE_ENV} is not set)`);
  const name = `vega_e2e_${randomBytes(6).toString('hex')}`;
  await withClient(admin, (client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  return databaseUrl(admin, name);
}

/** Drops a database made by `createTestDatabase` (sessions still open on it are ended). */
export async function dropTestDatabase(databaseUrl: string): Promise<void> {
  const admin = process.env[SHARED_POSTGRES_ENV];
  if (!admin) return;
  const name = new URL(databaseUrl).pathname.slice(1);
  await withClient(admin, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

// What SQLite hands back, so one assertion holds on both engines: bigint ids and counts as
// numbers (the ids are far below 2^53), timestamps as SQLite's UTC text.
const TYPES = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') => {
    if (oid === types.builtins.INT8 || oid === types.builtins.NUMERIC) return (value: string) => Number(value);
    if (oid === types.builtins.TIMESTAMPTZ || oid === types.builtins.TIMESTAMP) return (value: string) => sqliteTimestamp(value);
    return types.getTypeParser(oid, format);
  },
};

/** `2026-03-04 05:06:07.089+00` (session time zone UTC) → `2026-03-04 05:06:07.089`, as SQLite's columns hold it. */
function sqliteTimestamp(value: string): string {
  const instant = new Date(value.replace(' ', 'T').replace(/\+00$/, 'Z'));
  return instant.toISOString().replace('T', ' ').replace('Z', '');
}

async function withClient<T>(url: string, run: (client: Client) => Promise<T>): Promise<T> {
  // UTC: a timestamp text without an offset (as the tests write SQLite's) means UTC, as on SQLite.
  const client = new Client({ connectionString: url, types: TYPES, options: '-c TimeZone=UTC' });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** `?` placeholders (SQLite's) as `$1`, `$2`… (PostgreSQL's), outside quoted strings. */
function numberedPlaceholders(sql: string): string {
  let n = 0;
  let quoted = false;
  let out = '';
  for (const char of sql) {
    if (char === "'") quoted = !quoted;
    out += char === '?' && !quoted ? `$${++n}` : char;
  }
  return out;
}

/**
 * Rows as the tests compare them: without `search_vector`, PostgreSQL's generated full-text
 * column (SQLite keeps its index in a separate FTS5 table, which `SELECT *` does not show).
 */
function plainRow(row: Record<string, unknown>): Record<string, unknown> {
  const { search_vector: _index, ...rest } = row;
  return rest;
}

/** A query on a PostgreSQL test database, written as for SQLite (`?` placeholders). */
export async function queryPostgresAsSqlite<T>(databaseUrl: string, sql: string, params: unknown[]): Promise<T[]> {
  const { rows } = await withClient(databaseUrl, (client) => client.query(numberedPlaceholders(sql), params));
  return rows.map((row) => plainRow(row)) as T[];
}

/** A statement on a PostgreSQL test database: an INSERT reports the new row's id as SQLite's lastID. */
export async function execPostgres(databaseUrl: string, sql: string, params: unknown[]): Promise<{ lastID: number; changes: number }> {
  const insert = /^\s*INSERT\b/i.test(sql) && !/\bRETURNING\b/i.test(sql);
  const statement = numberedPlaceholders(sql) + (insert ? ' RETURNING *' : '');
  const result = await withClient(databaseUrl, (client) => client.query(statement, params));
  const id = insert ? (result.rows.at(-1) as { id?: number } | undefined)?.id : undefined;
  return { lastID: typeof id === 'number' ? id : 0, changes: result.rowCount ?? 0 };
}

/**
 * A backup made by the app (`POST /admin/db/backup`), as a database `queryDb` reads: on SQLite
 * the file itself; on PostgreSQL its pg_dump restored by `pg_restore` into a new, empty database.
 */
export async function restoredBackup(file: string): Promise<string> {
  if (testDatabase() === 'sqlite') return file;
  const admin = process.env[SHARED_POSTGRES_ENV];
  const pgRestore = findPostgresTool('pg_restore');
  if (!admin || !pgRestore) throw new Error('restoring a PostgreSQL backup needs the shared server and pg_restore');
  const name = `vega_e2e_restored_${randomBytes(6).toString('hex')}`;
  await withClient(admin, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = databaseUrl(admin, name);
  execFileSync(pgRestore, ['--no-owner', '--exit-on-error', `--dbname=${url}`, file], { stdio: 'pipe' });
  return url;
}

/** Inserts rows (objects by column name) in order in one transaction and returns their ids, as `insertRows` does on SQLite. */
export async function insertPostgresRows(databaseUrl: string, table: string, rows: Record<string, unknown>[]): Promise<number[]> {
  return withClient(databaseUrl, async (client) => {
    const ids: number[] = [];
    await client.query('BEGIN');
    try {
      for (const row of rows) {
        const columns = Object.keys(row);
        const { rows: inserted } = await client.query(
          `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`,
          columns.map((column) => row[column]),
        );
        ids.push((inserted[0] as { id?: number }).id ?? 0);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
    return ids;
  });
}
