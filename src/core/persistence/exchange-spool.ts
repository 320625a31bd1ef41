import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import type sqlite3 from 'sqlite3';
import { AppConfig } from '../../config/app-config';
import type { NewExchange } from './conversation.repository';
import { DatabaseHealth, isBusy, sqliteCode } from './database-health';
import { EXCHANGE_COLUMNS, exchangeValues, storedTs } from './sqlite/exchange-row';
import { openSqlite } from './sqlite/open-sqlite';

/** How often a replay is tried while exchanges wait in the spool. */
export const SPOOL_REPLAY_INTERVAL_MS = 1000;
/** A replay is retried on the next pass rather than made to wait long for the lock. */
const REPLAY_BUSY_TIMEOUT_MS = 1000;
/** Failures of one row alone (the next rows can still be written). */
const ROW_FAILURES = new Set(['SQLITE_CONSTRAINT', 'SQLITE_MISMATCH', 'SQLITE_TOOBIG', 'SQLITE_RANGE']);

/** One line of the spool: the exchange as it would have been stored, its time, and a key that makes replays idempotent. */
interface SpooledExchange extends NewExchange {
  key: string;
  /** UTC `YYYY-MM-DD HH:MM:SS.SSS`, as stored. */
  ts: string;
}

const INSERT_SQL = `INSERT INTO conversations (ts, ${EXCHANGE_COLUMNS.join(', ')})
  VALUES (?${', ?'.repeat(EXCHANGE_COLUMNS.length)})`;

/**
 * Where an exchange goes when the database cannot take it (locked past `DB_WRITE_WAIT_SEC`,
 * damaged): JSON Lines in `<data dir>/pending-exchanges.jsonl`, each append synced to disk before
 * the client gets its answer. Every second while lines wait (and at start), a replay writes them
 * back in order, in one transaction with their keys in `spool_applied`, so a replay cut short
 * and run again stores no row twice; then the file is removed. A line the database refuses for
 * itself (not for a lock or damage) is moved to `pending-exchanges.rejected.jsonl`, not dropped.
 */
@Injectable()
export class ExchangeSpool implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ExchangeSpool.name);
  private readonly path: string;
  private readonly rejectedPath: string;
  /** Appends and replays run one at a time, in order. */
  private tail: Promise<unknown> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** The spool file may hold exchanges. */
  private waiting = false;
  private lastFailure?: string;

  constructor(
    private readonly config: AppConfig,
    private readonly health: DatabaseHealth,
  ) {
    this.path = config.database.spoolPath;
    this.rejectedPath = this.path.replace(/\.jsonl$/, '') + '.rejected.jsonl';
  }

  /** Whether exchanges wait in the spool. */
  get pending(): boolean {
    return this.waiting;
  }

  onApplicationBootstrap(): void {
    if (!existsSync(this.path)) return;
    this.waiting = true;
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.tail.catch(() => undefined);
  }

  /** Appends the exchange (stored at `at`) and syncs the file; resolves once it is on disk. */
  append(exchange: NewExchange, at: Date): Promise<void> {
    const entry: SpooledExchange = { key: randomUUID(), ts: storedTs(at), ...exchange };
    const appended = this.serial(async () => {
      await appendSynced(this.path, `${JSON.stringify(entry)}\n`);
      this.waiting = true;
    });
    void appended.then(() => this.schedule(SPOOL_REPLAY_INTERVAL_MS), () => undefined);
    return appended;
  }

  /** Tries a replay soon (the database just took a write). */
  replaySoon(): void {
    if (this.waiting) this.schedule(0);
  }

  /** Writes the spooled exchanges to the database now; resolves with how many were written (0 when it is still busy). */
  replay(): Promise<number> {
    return this.serial(async () => {
      try {
        const written = await this.replayOnce();
        this.lastFailure = undefined;
        return written;
      } catch (error) {
        const failure = this.health.translate(error);
        const message = failure instanceof Error ? failure.message : String(failure);
        if (!isBusy(failure) && message !== this.lastFailure) {
          this.logger.warn(`spooled exchanges not written yet (${message}); retrying every ${SPOOL_REPLAY_INTERVAL_MS / 1000} s`);
        }
        this.lastFailure = message;
        return 0;
      }
    });
  }

  private async replayOnce(): Promise<number> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.waiting = false;
      return 0;
    }
    const entries: { entry: SpooledExchange; line: string }[] = [];
    const rejected: string[] = [];
    for (const line of bytes.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      const entry = parseEntry(line);
      if (entry) entries.push({ entry, line });
      else rejected.push(line);
    }
    const db = await openSqlite(this.config.database.path, 'readwrite');
    let written = 0;
    try {
      db.configure('busyTimeout', REPLAY_BUSY_TIMEOUT_MS);
      await run(db, 'BEGIN IMMEDIATE');
      try {
        for (const { entry, line } of entries) {
          // Already written by a replay that stopped before it could remove the file.
          if ((await run(db, 'INSERT OR IGNORE INTO spool_applied (key) VALUES (?)', [entry.key])) === 0) continue;
          try {
            await run(db, INSERT_SQL, [entry.ts, ...exchangeValues(exchange(entry))]);
            written += 1;
          } catch (error) {
            if (!ROW_FAILURES.has(sqliteCode(error) ?? '')) throw error;
            rejected.push(line);
          }
        }
        await run(db, 'COMMIT');
      } catch (error) {
        await run(db, 'ROLLBACK').catch(() => undefined);
        throw error;
      }
      if (rejected.length > 0) {
        await appendSynced(this.rejectedPath, rejected.map((line) => `${line}\n`).join(''));
        this.logger.error(`${rejected.length} spooled exchange(s) could not be stored; kept in ${this.rejectedPath}`);
      }
      await this.dropFirst(bytes.length);
      // The keys matter only while the lines are in the file; a failure here leaves a few harmless rows.
      const keys = entries.map(({ entry }) => entry.key);
      for (let start = 0; start < keys.length; start += 500) {
        const chunk = keys.slice(start, start + 500);
        await run(db, `DELETE FROM spool_applied WHERE key IN (${chunk.map(() => '?').join(', ')})`, chunk).catch(() => undefined);
      }
    } finally {
      await new Promise<void>((done) => db.close(() => done()));
    }
    if (written > 0) this.logger.log(`${written} spooled exchange(s) written to the database`);
    return written;
  }

  /** Removes the first `length` bytes of the spool (what was replayed), keeping lines another process appended since. */
  private async dropFirst(length: number): Promise<void> {
    const size = (await stat(this.path)).size;
    if (size <= length) {
      await rm(this.path, { force: true });
      this.waiting = false;
      return;
    }
    const rest = (await readFile(this.path)).subarray(length);
    const next = `${this.path}.next`;
    await rm(next, { force: true });
    await appendSynced(next, rest);
    await rename(next, this.path);
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private schedule(delayMs: number): void {
    if (this.stopped || !this.waiting) return;
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.replay().then(() => this.schedule(SPOOL_REPLAY_INTERVAL_MS));
    }, delayMs);
    this.timer.unref();
  }
}

async function appendSynced(path: string, data: string | Buffer): Promise<void> {
  const file = await open(path, 'a', 0o600);
  try {
    await (typeof data === 'string' ? file.write(data) : file.write(data));
    await file.sync();
  } finally {
    await file.close();
  }
}

function parseEntry(line: string): SpooledExchange | undefined {
  try {
    const entry = JSON.parse(line) as SpooledExchange;
    return typeof entry?.key === 'string' && typeof entry.ts === 'string' && typeof entry.prompt === 'string' && typeof entry.response === 'string'
      ? entry
      : undefined;
  } catch {
    return undefined;
  }
}

/** The exchange of a spool line, without the line's own fields. */
function exchange(entry: SpooledExchange): NewExchange {
  const { key: _key, ts: _ts, ...rest } = entry;
  return rest;
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
