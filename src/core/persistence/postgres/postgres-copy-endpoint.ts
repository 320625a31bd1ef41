import type { CanonicalRow, ColumnKind, CopiedTable } from '../copy/copied-tables';
import { CopyEndpoint } from '../copy/copy-endpoint';

const ARRAY_TYPES: Record<ColumnKind, string> = { integer: 'bigint[]', text: 'text[]', 'stored-time': 'timestamptz[]', 'iso-time': 'timestamptz[]' };

/**
 * A PostgreSQL database as a side of `vega db copy`. Text keys order by their bytes (`COLLATE
 * "C"`, as SQLite's BINARY), whatever the database's collation. A batch is one INSERT whose
 * parameters are one array per column (`unnest` makes them rows, as the write path's batches):
 * the statement's text is the same for any batch size. Ids are written as they are (the identity
 * columns are `BY DEFAULT`), so each table's sequence is moved past them at the end.
 */
export class PostgresCopyEndpoint extends CopyEndpoint {
  maxBatchRows(): number {
    return Number.MAX_SAFE_INTEGER;
  }

  async insert(table: CopiedTable, rows: readonly CanonicalRow[]): Promise<void> {
    if (rows.length === 0) return;
    const arrays = table.columns.map((_, i) => rows.map((row) => row[i]));
    const unnest = table.columns.map(([, kind], i) => `$${i + 1}::${ARRAY_TYPES[kind]}`).join(', ');
    await this.dataSource.query(`INSERT INTO ${table.name} (${this.columnList(table)}) SELECT * FROM unnest(${unnest})`, arrays);
  }

  async finishTable(table: CopiedTable): Promise<void> {
    if (!table.identity) return;
    const key = table.columns[0][0];
    await this.dataSource.query(
      `SELECT setval(pg_get_serial_sequence('${table.name}', '${key}'), coalesce((SELECT max(${key}) FROM ${table.name}), 0) + 1, false)`,
    );
  }

  protected orderedKey(table: CopiedTable): string {
    const [name, kind] = table.columns[0];
    return kind === 'text' ? `${name} COLLATE "C"` : name;
  }

  protected param(n: number): string {
    return `$${n}`;
  }
}
