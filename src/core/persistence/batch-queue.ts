interface Pending<Row> {
  row: Row;
  /** `performance.now()` when the row was queued. */
  queuedAt: number;
  resolve(id: number): void;
  reject(error: unknown): void;
}

/** How an engine writes one batch: the ids of the rows in their order; `oldestQueuedAt` bounds a retry. */
export type BatchWrite<Row> = (rows: Row[], oldestQueuedAt: number) => Promise<number[]>;

/**
 * Group commit, whatever the engine: the rows stored during one turn of the event loop, and those
 * that arrive while a write is in flight, are written together by the next write (one statement,
 * one round trip). A lone row waits for nothing but the end of the current turn (`setImmediate`);
 * under load, each write carries everything that queued behind the previous one. Each caller still
 * gets its own row's id, and only after the row is committed.
 * A batch that fails is retried row by row, so one bad row cannot fail its neighbours; a failure
 * of the database itself (`failsWhole`: locked, unreachable) fails the batch as a whole.
 */
export class BatchQueue<Row> {
  private queue: Pending<Row>[] = [];
  /** The write loop while it runs. */
  private draining?: Promise<void>;
  private closed = false;

  constructor(
    private readonly write: BatchWrite<Row>,
    private readonly failsWhole: (error: unknown) => boolean,
    private readonly maxRows = 500,
  ) {}

  /** Whether `close` was called: a writer stops waiting for the database. */
  get isClosed(): boolean {
    return this.closed;
  }

  insert(row: Row): Promise<number> {
    if (this.closed) return Promise.reject(new Error('the database is closing'));
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ row, queuedAt: performance.now(), resolve, reject });
      this.draining ??= this.drain();
    });
  }

  /** Stops taking rows and waits for those already queued. */
  async close(): Promise<void> {
    this.closed = true;
    await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      // Rows stored by requests handled in this same turn of the event loop go with this one.
      await new Promise((next) => setImmediate(next));
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxRows);
        try {
          const ids = await this.writeBatch(batch);
          batch.forEach((pending, i) => pending.resolve(ids[i]));
        } catch (error) {
          if (batch.length === 1 || this.failsWhole(error)) batch.forEach((pending) => pending.reject(error));
          else await this.oneByOne(batch);
        }
      }
    } finally {
      this.draining = undefined;
    }
  }

  private async writeBatch(batch: Pending<Row>[]): Promise<number[]> {
    const ids = await this.write(
      batch.map((pending) => pending.row),
      batch[0].queuedAt,
    );
    if (ids.length !== batch.length) throw new Error(`inserted ${ids.length} rows of ${batch.length}`);
    return ids;
  }

  private async oneByOne(batch: Pending<Row>[]): Promise<void> {
    for (const pending of batch) {
      try {
        pending.resolve((await this.writeBatch([pending]))[0]);
      } catch (error) {
        pending.reject(error);
      }
    }
  }
}
