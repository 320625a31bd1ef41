import sqlite3 from 'sqlite3';
import { isPostgresTarget, queryPostgresAsSqlite } from './test-database';

/**
 * The ids the full-text index finds for one word, straight from the index (SQLite's FTS5 table,
 * or PostgreSQL's `search_vector` column), not through the app.
 */
export async function searchIndexIds(target: string, word: string): Promise<number[]> {
  const rows = isPostgresTarget(target)
    ? await queryPostgresAsSqlite<{ id: number }>(target, `SELECT id FROM conversations WHERE search_vector @@ to_tsquery('vega_search', ?) ORDER BY id`, [word])
    : await queryDb<{ id: number }>(target, `SELECT rowid AS id FROM conversations_fts WHERE conversations_fts MATCH ? ORDER BY rowid`, [word]);
  return rows.map((row) => row.id);
}

/** How many rows the full-text index holds (PostgreSQL's lives on the rows themselves: a deleted row takes its entry with it). */
export async function searchIndexCount(target: string): Promise<number> {
  const sql = isPostgresTarget(target) ? 'SELECT count(search_vector) AS n FROM conversations' : 'SELECT count(*) AS n FROM conversations_fts';
  return (await queryDb<{ n: number }>(target, sql))[0].n;
}

/**
 * Reads rows straight from a database file, independent of the app's own data layer. On a
 * PostgreSQL test app (`dbPath` is then its database URL) the same query runs there, with values
 * as SQLite gives them (see test-database.ts).
 */
export function queryDb<T = Record<string, unknown>>(file: string, sql: string, params: unknown[] = []): Promise<T[]> {
  if (isPostgresTarget(file)) return queryPostgresAsSqlite<T>(file, sql, params);
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (openError) => {
      if (openError) return reject(openError);
      db.all(sql, params, (error, rows) => {
        db.close();
        if (error) reject(error);
        else resolve(rows as T[]);
      });
    });
  });
}
