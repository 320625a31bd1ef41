import sqlite3 from 'sqlite3';
import { execPostgres, insertPostgresRows, isPostgresTarget } from './test-database';

export interface SeedRow {
  prompt: string;
  response: string;
  ts?: string;
  source?: string;
  session_id?: string | null;
  rating?: number | null;
  tags?: string | null;
  reviewed?: number;
  status?: string;
  model?: string | null;
}

/**
 * Runs statements against a database file with its own connection (the app keeps its own); on a
 * PostgreSQL test app (`dbPath` is its database URL), against that database.
 */
export function execDb(file: string, sql: string, params: unknown[] = []): Promise<{ lastID: number; changes: number }> {
  if (isPostgresTarget(file)) return execPostgres(file, sql, params);
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (openError) => {
      if (openError) return reject(openError);
      db.configure('busyTimeout', 5000);
      db.run(sql, params, function (this: sqlite3.RunResult, error) {
        const result = { lastID: this?.lastID, changes: this?.changes };
        db.close();
        if (error) reject(error);
        else resolve(result);
      });
    });
  });
}

/**
 * Inserts rows (objects by column name; a column left out takes its default) in order, in one
 * transaction on one connection, and returns their rowids: thousands of rows take a moment.
 */
export function insertRows(file: string, table: string, rows: Record<string, unknown>[]): Promise<number[]> {
  if (isPostgresTarget(file)) return insertPostgresRows(file, table, rows);
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (openError) => {
      if (openError) return reject(openError);
      db.configure('busyTimeout', 5000);
      const ids: number[] = [];
      let failure: Error | null = null;
      db.serialize(() => {
        db.run('BEGIN');
        for (const row of rows) {
          const columns = Object.keys(row);
          db.run(
            `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
            columns.map((column) => row[column]),
            function (this: sqlite3.RunResult, error) {
              if (error) failure ??= error;
              else ids.push(this.lastID);
            },
          );
        }
        // Queued last: runs once every insert has answered.
        db.run('SELECT 1', () =>
          db.run(failure ? 'ROLLBACK' : 'COMMIT', (error) => {
            db.close();
            if (failure ?? error) reject(failure ?? error);
            else resolve(ids);
          }),
        );
      });
    });
  });
}

/** Inserts rows in order (ids ascending) and returns their ids; `ts` defaults to now. */
export function seedConversations(file: string, rows: SeedRow[]): Promise<number[]> {
  return insertRows(
    file,
    'conversations',
    rows.map((row) => ({
      ...(row.ts === undefined ? {} : { ts: row.ts }),
      prompt: row.prompt,
      response: row.response,
      source: row.source ?? 'api',
      session_id: row.session_id ?? null,
      rating: row.rating ?? null,
      tags: row.tags ?? null,
      reviewed: row.reviewed ?? 0,
      status: row.status ?? 'ok',
      model: row.model ?? 'mistral',
    })),
  );
}
