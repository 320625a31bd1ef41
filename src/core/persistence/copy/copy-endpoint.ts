import type { DataSource } from 'typeorm';
import { type CanonicalRow, canonicalRow, type CopiedTable, keyColumn, type RowKey } from './copied-tables';

/**
 * One side of `vega db copy`: an engine's database, opened for it. Rows are read in key order —
 * the same order on both engines (numbers, or texts by their bytes) — and always in canonical
 * form (see `CanonicalRow`); they are written in batches of one multi-row INSERT each. Each
 * engine says how it orders a key, numbers its parameters and writes a batch.
 */
export abstract class CopyEndpoint {
  constructor(
    /** The database as it may be shown (a PostgreSQL URL without its password). */
    readonly label: string,
    protected readonly dataSource: DataSource,
  ) {}

  /** The most rows one INSERT of this table may carry here (the engine's parameter limit). */
  abstract maxBatchRows(table: CopiedTable): number;
  /** Writes the rows, keys as they are, in one statement (all or none). */
  abstract insert(table: CopiedTable, rows: readonly CanonicalRow[]): Promise<void>;
  /** After a table's rows are in: what the engine needs so new rows get new keys (PostgreSQL's sequences). */
  abstract finishTable(table: CopiedTable): Promise<void>;
  /** The key column as ORDER BY and comparisons must use it. */
  protected abstract orderedKey(table: CopiedTable): string;
  /** The n-th (1-based) parameter's placeholder. */
  protected abstract param(n: number): string;

  async count(table: CopiedTable): Promise<number> {
    return this.scalar(`SELECT count(*) AS n FROM ${table.name}`, []);
  }

  /** How many rows have a key at most `key`. */
  async countUpTo(table: CopiedTable, key: RowKey): Promise<number> {
    return this.scalar(`SELECT count(*) AS n FROM ${table.name} WHERE ${this.orderedKey(table)} <= ${this.param(1)}`, [key]);
  }

  /** The greatest key, or undefined when the table is empty. */
  async lastKey(table: CopiedTable): Promise<RowKey | undefined> {
    const key = keyColumn(table);
    const rows = (await this.dataSource.query(`SELECT ${key} AS k FROM ${table.name} ORDER BY ${this.orderedKey(table)} DESC LIMIT 1`)) as { k: RowKey }[];
    return rows.length === 0 ? undefined : table.columns[0][1] === 'integer' ? Number(rows[0].k) : rows[0].k;
  }

  /** The row with this key, or undefined. */
  async row(table: CopiedTable, key: RowKey): Promise<CanonicalRow | undefined> {
    const rows = (await this.dataSource.query(`SELECT ${this.columnList(table)} FROM ${table.name} WHERE ${keyColumn(table)} = ${this.param(1)}`, [
      key,
    ])) as Record<string, unknown>[];
    return rows.length === 0 ? undefined : canonicalRow(table, rows[0]);
  }

  /** Up to `limit` rows after `after` (from the first when undefined), in key order. */
  async rowsAfter(table: CopiedTable, after: RowKey | undefined, limit: number): Promise<CanonicalRow[]> {
    const where = after === undefined ? '' : `WHERE ${this.orderedKey(table)} > ${this.param(1)}`;
    const params = after === undefined ? [limit] : [after, limit];
    const rows = (await this.dataSource.query(
      `SELECT ${this.columnList(table)} FROM ${table.name} ${where} ORDER BY ${this.orderedKey(table)} LIMIT ${this.param(params.length)}`,
      params,
    )) as Record<string, unknown>[];
    return rows.map((row) => canonicalRow(table, row));
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }

  protected columnList(table: CopiedTable): string {
    return table.columns.map(([name]) => name).join(', ');
  }

  private async scalar(sql: string, params: unknown[]): Promise<number> {
    const rows = (await this.dataSource.query(sql, params)) as { n: number | string }[];
    return Number(rows[0].n);
  }
}
