import sqlite3 from 'sqlite3';
import { execPostgres, isPostgresTarget } from './test-database';

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

/** Inserts rows in order (ids ascending) and returns their ids; `ts` defaults to now. */
export async function seedConversations(file: string, rows: SeedRow[]): Promise<number[]> {
  const ids: number[] = [];
  for (const row of rows) {
    const { lastID } = await execDb(
      file,
      `INSERT INTO conversations (ts, prompt, response, source, session_id, rating, tags, reviewed, status, model)
       VALUES (${isPostgresTarget(file) ? 'coalesce(?::timestamptz, now())' : "coalesce(?, strftime('%Y-%m-%d %H:%M:%f', 'now'))"}, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        row.ts ?? null,
        row.prompt,
        row.response,
        row.source ?? 'api',
        row.session_id ?? null,
        row.rating ?? null,
        row.tags ?? null,
        row.reviewed ?? 0,
        row.status ?? 'ok',
        row.model ?? 'mistral',
      ],
    );
    ids.push(lastID);
  }
  return ids;
}
