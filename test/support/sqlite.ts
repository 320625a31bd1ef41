import sqlite3 from 'sqlite3';
import { isPostgresTarget, queryPostgres } from './test-database';

/**
 * Reads rows straight from a database file, independent of the app's own data layer. On a
 * PostgreSQL test app (`dbPath` is then its database URL) the same query runs there, with values
 * as SQLite gives them (see test-database.ts).
 */
export function queryDb<T = Record<string, unknown>>(file: string, sql: string, params: unknown[] = []): Promise<T[]> {
  if (isPostgresTarget(file)) return queryPostgres<T>(file, sql, params);
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
