import type { NewExchange } from '../conversation.repository';
import { driverCode } from '../database-health';
import { EXCHANGE_COLUMNS, exchangeValues } from '../sqlite/exchange-row';
import { pgText } from './sql-params';

/** The exchange columns that hold whole numbers; the others are text. */
const INTEGER_COLUMNS = new Set(['prompt_tokens', 'completion_tokens', 'duration_ms', 'ttft_ms', 'model_ms']);

const arrayType = (column: string) => (INTEGER_COLUMNS.has(column) ? 'int[]' : 'text[]');

/**
 * One INSERT for any number of exchanges: a parameter per column, each an array holding that
 * column's value for every row (`unnest` turns them back into rows, in order). The statement's
 * text never changes with the batch size, so it is prepared once per connection and a batch is
 * one round trip. `RETURNING id` yields the ids in the order of the rows.
 * `withTs`: the first parameter holds each row's time (the spool's replay); otherwise `now()`.
 */
export function exchangeInsertSql(withTs: boolean): string {
  const columns = withTs ? ['ts', ...EXCHANGE_COLUMNS] : [...EXCHANGE_COLUMNS];
  const arrays = columns.map((column, i) => `$${i + 1}::${column === 'ts' ? 'timestamptz[]' : arrayType(column)}`);
  return `INSERT INTO conversations (${columns.join(', ')}) SELECT * FROM unnest(${arrays.join(', ')}) RETURNING id`;
}

/**
 * The column arrays of `exchangeInsertSql` for these exchanges. PostgreSQL's text cannot hold
 * U+0000 (SQLite's can): it is stored as U+FFFD, as a lone surrogate already is by the UTF-8
 * encoding. Whole-number columns are rounded (a timing may come as a fraction).
 */
export function exchangeColumnArrays(exchanges: readonly NewExchange[], at?: readonly Date[]): unknown[][] {
  const columns: unknown[][] = EXCHANGE_COLUMNS.map(() => []);
  for (const exchange of exchanges) {
    exchangeValues(exchange).forEach((value, i) => columns[i].push(pgValue(EXCHANGE_COLUMNS[i], value)));
  }
  return at ? [at.map((date) => date.toISOString()), ...columns] : columns;
}

function pgValue(column: string, value: unknown): unknown {
  if (typeof value === 'string') return pgText(value);
  if (typeof value === 'number' && INTEGER_COLUMNS.has(column)) return Math.round(value);
  return value;
}

/**
 * A failure of the rows themselves (SQLSTATE classes 22 data exception, 23 integrity constraint,
 * 54 program limit exceeded): the other rows of a batch can still be written. Anything else — a
 * server down, a connection lost, a timeout — is a failure of the database.
 */
export function isRowFailure(error: unknown): boolean {
  const code = driverCode(error) ?? '';
  return /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}
