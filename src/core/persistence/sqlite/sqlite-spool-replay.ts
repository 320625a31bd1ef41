import type sqlite3 from 'sqlite3';
import type { SpooledExchange } from '../conversation.repository';
import { driverCode } from '../database-health';
import { EXCHANGE_COLUMNS, exchangeValues } from './exchange-row';
import { openSqlite } from './open-sqlite';
import { storedTs } from './sqlite-time';

/** A replay is retried on the spool's next pass rather than made to wait long for the lock. */
const REPLAY_BUSY_TIMEOUT_MS = 1000;
/** Failures of one row alone (the next rows can still be written). */
const ROW_FAILURES = new Set(['SQLITE_CONSTRAINT', 'SQLITE_MISMATCH', 'SQLITE_TOOBIG', 'SQLITE_RANGE']);

const INSERT_SQL = `INSERT INTO conversations (ts, ${EXCHANGE_COLUMNS.join(', ')})
  VALUES (?${', ?'.repeat(EXCHANGE_COLUMNS.length)})`;

/**
 * Writes spooled exchanges back on a connection of its own (the app's may be the one that is
 * stuck), under `BEGIN IMMEDIATE`, each key recorded in `spool_applied` in the same transaction:
 * a replay cut short after its commit and run again finds its keys and stores no row twice.
 */
export async function writeSpooled(path: string, entries: readonly SpooledExchange[]): Promise<{ written: number; refused: string[] }> {
  const refused: string[] = [];
  let written = 0;
  await withConnection(path, async (db) => {
    await run(db, 'BEGIN IMMEDIATE');
    try {
      for (const entry of entries) {
        if ((await run(db, 'INSERT OR IGNORE INTO spool_applied (key) VALUES (?)', [entry.key])) === 0) continue;
        // The write that failed without an answer was committed (SQLite's own writes never are uncertain; the port's rule).
        if (entry.writeKey && (await exists(db, 'SELECT 1 FROM spool_applied WHERE key = ?', [entry.writeKey]))) continue;
        try {
          await run(db, INSERT_SQL, [storedTs(entry.at), ...exchangeValues(entry.exchange)]);
          written += 1;
        } catch (error) {
          if (!ROW_FAILURES.has(driverCode(error) ?? '')) throw error;
          refused.push(entry.key);
        }
      }
      await run(db, 'COMMIT');
    } catch (error) {
      await run(db, 'ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
  return { written, refused };
}

/** Removes the keys from `spool_applied`; a failure leaves a few harmless rows. */
export async function dropSpoolKeys(path: string, keys: readonly string[]): Promise<void> {
  await withConnection(path, async (db) => {
    for (let start = 0; start < keys.length; start += 500) {
      const chunk = keys.slice(start, start + 500);
      await run(db, `DELETE FROM spool_applied WHERE key IN (${chunk.map(() => '?').join(', ')})`, chunk).catch(() => undefined);
    }
  });
}

async function withConnection(path: string, work: (db: sqlite3.Database) => Promise<void>): Promise<void> {
  const db = await openSqlite(path, 'readwrite');
  try {
    db.configure('busyTimeout', REPLAY_BUSY_TIMEOUT_MS);
    await work(db);
  } finally {
    await new Promise<void>((done) => db.close(() => done()));
  }
}

/** Runs one statement; resolves with the number of rows it changed. */
function run(db: sqlite3.Database, sql: string, params: unknown[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    db.run(sql, params, function (this: sqlite3.RunResult, error: Error | null) {
      if (error) reject(error);
      else resolve(this.changes);
    });
  });
}

/** Whether the query finds a row. */
function exists(db: sqlite3.Database, sql: string, params: unknown[]): Promise<boolean> {
  return new Promise((resolve, reject) => db.get(sql, params, (error: Error | null, row: unknown) => (error ? reject(error) : resolve(row !== undefined))));
}
