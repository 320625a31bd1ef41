import { pgText } from '../postgres/sql-params';
import { fromStoredTs } from '../sqlite/sqlite-time';

/**
 * How a column's values travel between engines: `integer` and `text` as they are, times as
 * instants. SQLite keeps times as text in two forms — `stored` (`YYYY-MM-DD HH:MM:SS.SSS`, the
 * conversations' `ts`) and `iso` (ISO 8601 with `Z`, keys and audit) — PostgreSQL as `timestamptz`.
 */
export type ColumnKind = 'integer' | 'text' | 'stored-time' | 'iso-time';

export interface CopiedTable {
  readonly name: string;
  /** Every column, the key first: rows are read, copied and checksummed in key order. */
  readonly columns: readonly (readonly [name: string, kind: ColumnKind])[];
  /** An identity column whose sequence must be set past the copied ids (PostgreSQL). */
  readonly identity: boolean;
}

/**
 * The tables `vega db copy` moves, every column of each (a unit test holds these lists to both
 * engines' migrated schemas). `usage_daily` is not among them: both engines keep it by triggers on
 * `conversations`, so the target's is rebuilt from the rows as they arrive. Derived columns (the
 * SQLite FTS table, PostgreSQL's `search_vector`) are made by the target the same way.
 */
export const COPIED_TABLES: readonly CopiedTable[] = [
  {
    name: 'conversations',
    identity: true,
    columns: [
      ['id', 'integer'],
      ['ts', 'stored-time'],
      ['prompt', 'text'],
      ['response', 'text'],
      ['source', 'text'],
      ['session_id', 'text'],
      ['rating', 'integer'],
      ['tags', 'text'],
      ['notes', 'text'],
      ['reviewed', 'integer'],
      ['model', 'text'],
      ['status', 'text'],
      ['prompt_tokens', 'integer'],
      ['completion_tokens', 'integer'],
      ['duration_ms', 'integer'],
      ['ttft_ms', 'integer'],
      ['kind', 'text'],
      ['request', 'text'],
      ['answer', 'text'],
      ['tool_text', 'text'],
      ['response_id', 'text'],
      ['key_id', 'text'],
      ['model_ms', 'integer'],
      ['served_model', 'text'],
      ['target', 'text'],
    ],
  },
  {
    name: 'api_keys',
    identity: false,
    columns: [
      ['id', 'text'],
      ['name', 'text'],
      ['secret_hash', 'text'],
      ['prefix', 'text'],
      ['scopes', 'text'],
      ['models', 'text'],
      ['limits', 'text'],
      ['expires_at', 'iso-time'],
      ['created_at', 'iso-time'],
      ['updated_at', 'iso-time'],
      ['last_used_at', 'iso-time'],
      ['revoked_at', 'iso-time'],
    ],
  },
  {
    name: 'audit_log',
    identity: true,
    columns: [
      ['id', 'integer'],
      ['ts', 'iso-time'],
      ['key_id', 'text'],
      ['route', 'text'],
      ['models', 'text'],
      ['outcome', 'text'],
      ['status', 'integer'],
      ['duration_ms', 'integer'],
      ['detail', 'text'],
    ],
  },
  { name: 'spool_applied', identity: false, columns: [['key', 'text']] },
];

/** A table's key: the first column. */
export const keyColumn = (table: CopiedTable): string => table.columns[0][0];

/** A row's key value (in canonical form: a number or a string). */
export type RowKey = number | string;

/**
 * A row in the form both engines' rows are read into: whole numbers as numbers, texts as strings,
 * times as ISO 8601 UTC strings to the millisecond (an instant, whatever the engine's format),
 * null as null. It is what is written to the target and what the checksums are computed over, so
 * engine formatting differences never count as a difference.
 */
export type CanonicalRow = (number | string | null)[];

/** One value of an engine's row in canonical form. */
export function canonicalValue(kind: ColumnKind, value: unknown): number | string | null {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'integer':
      // A fraction stored in an INTEGER column of SQLite (its affinity allows it) is rounded, as PostgreSQL would.
      return typeof value === 'number' ? Math.round(value) : typeof value === 'bigint' ? Number(value) : Math.round(Number(value));
    case 'text':
      // PostgreSQL's text cannot hold U+0000: both sides' canonical text has U+FFFD instead (as the write path stores it).
      return pgText(String(value));
    case 'stored-time':
    case 'iso-time':
      return (value instanceof Date ? value : fromStoredTs(String(value))).toISOString();
  }
}

/** An engine's row (an object by column name) in canonical form. */
export function canonicalRow(table: CopiedTable, row: Record<string, unknown>): CanonicalRow {
  return table.columns.map(([name, kind]) => canonicalValue(kind, row[name]));
}
