import type { Database, Statement } from 'sqlite3';

interface Pending<Row> {
  row: Row;
  resolve(id: number): void;
  reject(error: unknown): void;
}

/**
 * Group commit for one INSERT: the rows stored during one turn of the event loop, and those
 * that arrive while a write is in flight, are written together by the next write, as a single
 * multi-row `INSERT … RETURNING id` (one statement, one transaction, one hop to sqlite3's
 * thread pool). A lone row waits for nothing but the end of the current turn (`setImmediate`);
 * under load, each write carries everything that queued behind the previous one. Each caller
 * still gets its own row's id, and only after the row is committed.
 * A batch that fails is retried row by row, so one bad row cannot fail its neighbours.
 */
export class GroupInsert<Row> {
  private queue: Pending<Row>[] = [];
  /** The write loop while it runs. */
  private draining?: Promise<void>;
  private readonly statements = new Map<number, Statement>();
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly table: string,
    private readonly columns: readonly string[],
    private readonly toValues: (row: Row) => unknown[],
    private readonly maxRows = Math.floor(999 / columns.length),
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
    await Promise.all([...this.statements.values()].map((statement) => new Promise((done) => statement.finalize(done))));
    this.statements.clear();
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
    const statement = this.statementFor(rows.length);
    const values = rows.flatMap(this.toValues);
    return new Promise((resolve, reject) => {
      statement.all(values, (error: Error | null, result: { id: number }[]) => {
        if (error) return reject(error);
        // Row ids grow with each row the statement inserts: ascending ids are insertion order
        // (RETURNING itself does not promise an order).
        resolve(result.map((r) => r.id).sort((a, b) => a - b));
      });
    });
  }

  private statementFor(rows: number): Statement {
    let statement = this.statements.get(rows);
    if (!statement) {
      const tuple = `(${this.columns.map(() => '?').join(', ')})`;
      const sql = `INSERT INTO ${this.table} (${this.columns.join(', ')}) VALUES ${Array(rows).fill(tuple).join(', ')} RETURNING id`;
      statement = this.db.prepare(sql);
      this.statements.set(rows, statement);
    }
    return statement;
  }
}
