import type { Database, RunResult, Statement } from 'sqlite3';
import { BatchQueue } from '../batch-queue';

/**
 * Waiting out a lock another connection holds (a backup tool, `BEGIN EXCLUSIVE` in a shell): each
 * attempt waits up to `busyTimeoutMs` inside SQLite, and attempts go on, with a growing pause,
 * until a row has waited `maxWaitMs` in all; then its insert fails with the last `SQLITE_BUSY`.
 * Only for a connection of its own: the busy timeout is set on the connection before each attempt.
 */
export interface LockWait {
  maxWaitMs: number;
  busyTimeoutMs: number;
}

const FIRST_PAUSE_MS = 25;
const LONGEST_PAUSE_MS = 1000;

const isBusyError = (error: unknown) => (error as { code?: unknown } | null)?.code === 'SQLITE_BUSY';

/**
 * Group commit for one INSERT on SQLite (the queue is `BatchQueue`'s): each batch is a single
 * `INSERT … SELECT … FROM json_each(?)` (one statement, one transaction, one hop to sqlite3's
 * thread pool). A batch that failed because the database stayed locked fails as a whole (with
 * `lockWait`, only after waiting).
 *
 * The batch travels as one JSON parameter rather than one bound parameter per value: sqlite3
 * binds each value through N-API on the main thread, which cost more than the statement itself.
 * Values must therefore be strings, finite numbers, booleans (stored as 1/0) or null.
 * The ids come from the statement's last row id: one INSERT assigns consecutive row ids to
 * its rows in the order it inserts them (the next id is always the largest so far plus one,
 * and the statement holds the write lock), and `ORDER BY key` inserts them in array order.
 */
export class GroupInsert<Row> {
  private readonly queue: BatchQueue<Row>;
  private statement?: Statement;

  constructor(
    private readonly db: Database,
    private readonly table: string,
    private readonly columns: readonly string[],
    private readonly toValues: (row: Row) => unknown[],
    maxRows = 500,
    private readonly lockWait?: LockWait,
  ) {
    this.queue = new BatchQueue((rows, queuedAt) => this.writeWaiting(rows, queuedAt), isBusyError, maxRows);
  }

  insert(row: Row): Promise<number> {
    return this.queue.insert(row);
  }

  /**
   * Waits for the rows already queued, then releases the prepared statements. Rows waiting for a
   * lock stop waiting (their inserts fail with `SQLITE_BUSY`): a shutdown does not wait on another process.
   */
  async close(): Promise<void> {
    await this.queue.close();
    const statement = this.statement;
    this.statement = undefined;
    if (statement) await new Promise((done) => statement.finalize(done));
  }

  /** One write, attempted again while the database is locked and the batch's oldest row may still wait. */
  private async writeWaiting(rows: Row[], queuedAt: number): Promise<number[]> {
    if (!this.lockWait) return this.write(rows);
    const deadline = queuedAt + this.lockWait.maxWaitMs;
    for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(pause * 2, LONGEST_PAUSE_MS)) {
      const left = this.queue.isClosed ? 0 : deadline - performance.now();
      this.db.configure('busyTimeout', Math.max(0, Math.min(this.lockWait.busyTimeoutMs, Math.floor(left))));
      try {
        return await this.write(rows);
      } catch (error) {
        const after = this.queue.isClosed ? 0 : deadline - performance.now();
        if (!isBusyError(error) || after <= 0) throw error;
        await new Promise((next) => setTimeout(next, Math.min(pause, after)));
      }
    }
  }

  private write(rows: Row[]): Promise<number[]> {
    this.statement ??= this.db.prepare(
      `INSERT INTO ${this.table} (${this.columns.join(', ')}) ` +
        `SELECT ${this.columns.map((_, i) => `value->>${i}`).join(', ')} FROM json_each(?) ORDER BY key`,
    );
    const json = batchJson(rows.map(this.toValues));
    return new Promise((resolve, reject) => {
      this.statement!.run(json, function (this: RunResult, error: Error | null) {
        if (error) return reject(error);
        if (this.changes !== rows.length) {
          return reject(new Error(`inserted ${this.changes} rows of ${rows.length}`));
        }
        const first = this.lastID - rows.length + 1;
        resolve(rows.map((_, i) => first + i));
      });
    });
  }
}

/**
 * The rows as one JSON array. `JSON.stringify` writes a lone UTF-16 surrogate as a `\udxxx`
 * escape, which SQLite would decode into bytes that are not UTF-8; such strings are made well
 * formed first (U+FFFD in its place, as sqlite3 does for a bound string). The check runs on the
 * whole text, so a batch without the sequence pays nothing more.
 */
function batchJson(values: unknown[][]): string {
  const json = JSON.stringify(values);
  if (!json.includes('\\ud')) return json;
  return JSON.stringify(values.map((row) => row.map((value) => (typeof value === 'string' ? value.toWellFormed() : value))));
}
