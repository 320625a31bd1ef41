import type { Database, RunResult, Statement } from 'sqlite3';

interface Pending<Row> {
  row: Row;
  resolve(id: number): void;
  reject(error: unknown): void;
}

/**
 * Group commit for one INSERT: the rows stored during one turn of the event loop, and those
 * that arrive while a write is in flight, are written together by the next write, as a single
 * `INSERT … SELECT … FROM json_each(?)` (one statement, one transaction, one hop to sqlite3's
 * thread pool). A lone row waits for nothing but the end of the current turn (`setImmediate`);
 * under load, each write carries everything that queued behind the previous one. Each caller
 * still gets its own row's id, and only after the row is committed.
 * A batch that fails is retried row by row, so one bad row cannot fail its neighbours.
 *
 * The batch travels as one JSON parameter rather than one bound parameter per value: sqlite3
 * binds each value through N-API on the main thread, which cost more than the statement itself.
 * Values must therefore be strings, finite numbers, booleans (stored as 1/0) or null.
 * The ids come from the statement's last row id: one INSERT assigns consecutive row ids to
 * its rows in the order it inserts them (the next id is always the largest so far plus one,
 * and the statement holds the write lock), and `ORDER BY key` inserts them in array order.
 */
export class GroupInsert<Row> {
  private queue: Pending<Row>[] = [];
  /** The write loop while it runs. */
  private draining?: Promise<void>;
  private statement?: Statement;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly table: string,
    private readonly columns: readonly string[],
    private readonly toValues: (row: Row) => unknown[],
    private readonly maxRows = 500,
  ) {}

  insert(row: Row): Promise<number> {
    if (this.closed) return Promise.reject(new Error('the database is closing'));
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  /** Waits for the rows already queued, then releases the prepared statements. */
  async close(): Promise<void> {
    this.closed = true;
    await this.draining;
    const statement = this.statement;
    this.statement = undefined;
    if (statement) await new Promise((done) => statement.finalize(done));
  }

  private async drain(): Promise<void> {
    try {
      // Rows stored by requests handled in this same turn of the event loop go with this one.
      await new Promise((next) => setImmediate(next));
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxRows);
        try {
          const ids = await this.write(batch.map((pending) => pending.row));
          batch.forEach((pending, i) => pending.resolve(ids[i]));
        } catch (error) {
          if (batch.length === 1) batch[0].reject(error);
          else await this.oneByOne(batch);
        }
      }
    } finally {
      this.draining = undefined;
    }
  }

  private async oneByOne(batch: Pending<Row>[]): Promise<void> {
    for (const pending of batch) {
      try {
        pending.resolve((await this.write([pending.row]))[0]);
      } catch (error) {
        pending.reject(error);
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
