import { BUCKETS_PER_E, BUCKET_COLUMNS, LATENCY_BUCKETS } from '../sqlite/usage-rollup';

/**
 * The daily usage rollup on PostgreSQL: the same table as SQLite's (`usage_daily`, one row per UTC
 * day, key, model and lane, the sums and the latency histogram of sqlite/usage-rollup.ts), kept by
 * statement-level triggers with transition tables: a batch of exchanges stored by one multi-row
 * INSERT updates each of its groups once, not once per row. Groups are upserted in key order so
 * two concurrent batches lock them in the same order (no deadlock).
 */
const SUMS = ['requests', 'prompt_tokens', 'completion_tokens', 'model_ms', 'errors', ...BUCKET_COLUMNS];
const GROUP = `(ts AT TIME ZONE 'UTC')::date, coalesce(key_id, ''), coalesce(model, ''), source`;
const WATCHED = ['ts', 'key_id', 'model', 'source', 'status', 'prompt_tokens', 'completion_tokens', 'model_ms', 'duration_ms'];

/** The histogram bucket of a duration in ms (-1 for none); the usage report buckets the partial days' rows with it too. */
export const bucket = (duration: string) =>
  `CASE WHEN ${duration} IS NULL THEN -1 ELSE least(${LATENCY_BUCKETS - 1}, floor(ln(1 + greatest(0, ${duration})) * ${BUCKETS_PER_E}))::int END`;

/** Adds (sign 1) or takes away (-1) the rows of `rows` (a table or a transition table) to the rollup. */
function upsert(rows: string, sign: 1 | -1): string {
  const figures = [
    'count(*)',
    'coalesce(sum(prompt_tokens), 0)',
    'coalesce(sum(completion_tokens), 0)',
    'coalesce(sum(model_ms), 0)',
    "count(*) FILTER (WHERE status = 'error')",
    ...BUCKET_COLUMNS.map((_, i) => `count(*) FILTER (WHERE k = ${i})`),
  ].map((value) => (sign === 1 ? value : `-(${value})`));
  return `INSERT INTO usage_daily (day, key_id, model, source, ${SUMS.join(', ')})
      SELECT ${GROUP}, ${figures.join(', ')}
        FROM (SELECT *, ${bucket('duration_ms')} AS k FROM ${rows}) AS r
       GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
      ON CONFLICT (day, key_id, model, source) DO UPDATE SET ${SUMS.map((c) => `${c} = usage_daily.${c} + excluded.${c}`).join(', ')};`;
}

/** The statements that create the rollup and keep it in step (it starts with an empty table). */
export function pgRollupSchema(): string[] {
  // An UPDATE counts only the rows whose reported columns changed: feedback costs the rollup nothing.
  const changed = (side: 'o' | 'n') =>
    `(SELECT ${side}.* FROM old_rows o JOIN new_rows n ON n.id = o.id
       WHERE (${WATCHED.map((c) => `o.${c}`).join(', ')}) IS DISTINCT FROM (${WATCHED.map((c) => `n.${c}`).join(', ')})) AS changed`;
  return [
    `CREATE TABLE usage_daily (
      day date NOT NULL, key_id text NOT NULL, model text NOT NULL, source text NOT NULL,
      ${SUMS.map((column) => `${column} bigint NOT NULL DEFAULT 0`).join(', ')},
      PRIMARY KEY (day, key_id, model, source)
    )`,
    `CREATE FUNCTION usage_daily_insert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN ${upsert('new_rows', 1)} RETURN NULL; END $$`,
    `CREATE FUNCTION usage_daily_delete() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN ${upsert('old_rows', -1)} RETURN NULL; END $$`,
    `CREATE FUNCTION usage_daily_update() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN ${upsert(changed('o'), -1)} ${upsert(changed('n'), 1)} RETURN NULL; END $$`,
    `CREATE TRIGGER usage_daily_insert AFTER INSERT ON conversations REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION usage_daily_insert()`,
    `CREATE TRIGGER usage_daily_delete AFTER DELETE ON conversations REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION usage_daily_delete()`,
    `CREATE TRIGGER usage_daily_update AFTER UPDATE ON conversations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION usage_daily_update()`,
  ];
}
