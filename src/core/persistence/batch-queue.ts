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
  /** The writes under way, each with its batch. */
  private readonly writing = new Set<Promise<void>>();
  /** A turn of the event loop is awaited before the next write starts. */
  private scheduled = false;
  private closed = false;

  /**
   * `maxInFlight`: how many batches may be written at once. One suits SQLite (one writer); a
   * database server writes several at once on as many connections, each on its own core.
   */
  constructor(
    private readonly write: BatchWrite<Row>,
    private readonly failsWhole: (error: unknown) => boolean,
    private readonly maxRows = 500,
    private readonly maxInFlight = 1,
  ) {}

  /** Whether `close` was called: a writer stops waiting for the database. */
  get isClosed(): boolean {
    return this.closed;
  }

  insert(row: Row): Promise<number> {
    if (this.closed) return Promise.reject(new Error('the database is closing'));
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ row, queuedAt: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Stops taking rows and waits for those already queued. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.writing.size > 0 || this.scheduled) await Promise.race([...this.writing, new Promise((next) => setImmediate(next))]);
  }

  /** Rows stored by requests handled in this same turn of the event loop go with this one. */
  private schedule(): void {
    if (this.scheduled || this.writing.size >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.startWrites();
    });
  }

  /** Starts a write for the queued rows while fewer than `maxInFlight` are under way. */
  private startWrites(): void {
    while (this.queue.length > 0 && this.writing.size < this.maxInFlight) {
      const batch = this.queue.splice(0, this.maxRows);
      const written: Promise<void> = this.writeOrSplit(batch).finally(() => {
        this.writing.delete(written);
        // What queued behind this write goes now, without waiting for another turn.
        this.startWrites();
      });
      this.writing.add(written);
    }
  }

  private async writeOrSplit(batch: Pending<Row>[]): Promise<void> {
    try {
      const ids = await this.writeBatch(batch);
      batch.forEach((pending, i) => pending.resolve(ids[i]));
    } catch (error) {
      if (batch.length === 1 || this.failsWhole(error)) batch.forEach((pending) => pending.reject(error));
      else await this.oneByOne(batch);
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
