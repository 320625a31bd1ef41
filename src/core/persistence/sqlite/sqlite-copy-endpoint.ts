import type { CanonicalRow, CopiedTable } from '../copy/copied-tables';
import { CopyEndpoint } from '../copy/copy-endpoint';
import { storedTs } from './sqlite-time';

/** SQLite's limit on a statement's parameters (SQLITE_MAX_VARIABLE_NUMBER since 3.32). */
const MAX_PARAMETERS = 32_766;

/**
 * A SQLite file as a side of `vega db copy`. Keys order as SQLite orders them (numbers; texts by
 * their bytes, the BINARY collation); a batch is one `INSERT … VALUES (…), (…)`, times written in
 * the form each table keeps them. The AUTOINCREMENT counters follow the ids written by themselves.
 */
export class SqliteCopyEndpoint extends CopyEndpoint {
  maxBatchRows(table: CopiedTable): number {
    return Math.floor(MAX_PARAMETERS / table.columns.length);
  }

  async insert(table: CopiedTable, rows: readonly CanonicalRow[]): Promise<void> {
    if (rows.length === 0) return;
    const tuple = `(${table.columns.map(() => '?').join(', ')})`;
    const values = rows.flatMap((row) => row.map((value, i) => stored(table.columns[i][1], value)));
    await this.dataSource.query(`INSERT INTO ${table.name} (${this.columnList(table)}) VALUES ${rows.map(() => tuple).join(', ')}`, values);
  }

  async finishTable(): Promise<void> {
    // sqlite_sequence already holds the greatest id inserted.
  }

  protected orderedKey(table: CopiedTable): string {
    return table.columns[0][0];
  }

  protected param(): string {
    return '?';
  }
}

/** A canonical value as SQLite stores it: a time as its table's text form. */
function stored(kind: CopiedTable['columns'][number][1], value: CanonicalRow[number]): CanonicalRow[number] {
  if (value === null) return null;
  if (kind === 'stored-time') return storedTs(new Date(value));
  return value;
}
