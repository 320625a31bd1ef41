import type sqlite3 from 'sqlite3';
import { openSqlite } from './open-sqlite';

export interface CheckResult {
  ok: boolean;
  /** What was run. */
  check: string;
  /** SQLite's findings, one a line; empty when ok. */
  findings: string[];
}

export interface DatabaseCheckReport {
  ok: boolean;
  path: string;
  integrity: CheckResult;
  fts: CheckResult;
}

/** Findings past this many are summed up (a badly damaged file can list thousands). */
const MAX_FINDINGS = 100;

/**
 * Checks the database file itself, from a connection of its own and without the app's data layer
 * (so a file TypeORM cannot open is still examined): `PRAGMA quick_check` (with `full`,
 * `integrity_check`, which also matches every index against its table), then FTS5's
 * `integrity-check` of the search index against the conversations. Nothing is changed.
 */
export async function checkDatabaseFile(path: string, options: { full?: boolean } = {}): Promise<DatabaseCheckReport> {
  const pragma = options.full ? 'integrity_check' : 'quick_check';
  let db: sqlite3.Database;
  try {
    // Read-write only because FTS5 runs its check as an INSERT of a command row; it writes nothing.
    db = await openSqlite(path, 'readwrite');
  } catch (error) {
    const failed = { ok: false, check: 'open', findings: [messageOf(error)] };
    return { ok: false, path, integrity: failed, fts: { ok: false, check: 'fts5 integrity-check', findings: ['not run: the file cannot be opened'] } };
  }
  try {
    const integrity = await run(pragma, async () => {
      const rows = await all<Record<string, string>>(db, `PRAGMA ${pragma}(${MAX_FINDINGS})`);
      return rows.map((row) => Object.values(row)[0]).filter((line) => line !== 'ok');
    });
    const fts = await run('fts5 integrity-check', async () => {
      const [table] = await all(db, `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'conversations_fts'`);
      if (!table) return [];
      await exec(db, `INSERT INTO conversations_fts (conversations_fts, rank) VALUES ('integrity-check', 1)`);
      return [];
    });
    return { ok: integrity.ok && fts.ok, path, integrity, fts };
  } finally {
    await new Promise<void>((done) => db.close(() => done()));
  }
}

async function run(check: string, findings: () => Promise<string[]>): Promise<CheckResult> {
  try {
    const found = await findings();
    return { ok: found.length === 0, check, findings: found };
  } catch (error) {
    return { ok: false, check, findings: [messageOf(error)] };
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

function all<T = unknown>(db: sqlite3.Database, sql: string): Promise<T[]> {
  return new Promise((resolve, reject) => db.all(sql, (error: Error | null, rows: T[]) => (error ? reject(error) : resolve(rows))));
}

function exec(db: sqlite3.Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) => db.run(sql, (error: Error | null) => (error ? reject(error) : resolve())));
}
