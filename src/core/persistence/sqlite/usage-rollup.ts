/**
 * The daily usage rollup (`usage_daily`): one row per UTC day, key, model and lane with the sums a
 * usage report needs and a histogram of the exchanges' durations, kept by triggers on
 * `conversations` (every write path — the chat path, the spool's replay, imports, retention and
 * deletes — goes through them). A report reads the rollup for its whole days and the rows
 * themselves only for the partial days at its ends.
 *
 * The histogram has `LATENCY_BUCKETS` log-spaced buckets: a duration d (ms) is counted in bucket
 * floor(ln(1 + d) × `BUCKETS_PER_E`), the last bucket holding everything above (~20 min). Each
 * bucket spans a factor of e^(1/5) ≈ 1.22, so a percentile read from it (interpolated within its
 * bucket) is within about ±10 % of the exact value. `ln` is one of SQLite's math functions, which
 * the bundled sqlite3 build includes.
 */
export const LATENCY_BUCKETS = 70;
export const BUCKETS_PER_E = 5;

/** Columns of the histogram: `b0`…`b69`. */
export const BUCKET_COLUMNS = Array.from({ length: LATENCY_BUCKETS }, (_, i) => `b${i}`);

/** The bucket of a duration (-1 for none), in SQL. */
export const bucketSql = (duration: string): string =>
  `CASE WHEN ${duration} IS NULL THEN -1 ELSE min(${LATENCY_BUCKETS - 1}, CAST(ln(1 + max(0, ${duration})) * ${BUCKETS_PER_E} AS INTEGER)) END`;

/** The lower and upper bound (ms) of bucket `i`. */
export function bucketBounds(i: number): [number, number] {
  return [Math.exp(i / BUCKETS_PER_E) - 1, Math.exp((i + 1) / BUCKETS_PER_E) - 1];
}

/** The grouping columns; null key or model is stored as '' (a key of a UNIQUE index must not be NULL to match). */
const GROUP_VALUES = (row: 'new' | 'old') => [`substr(${row}.ts, 1, 10)`, `coalesce(${row}.key_id, '')`, `coalesce(${row}.model, '')`, `${row}.source`];

function upsert(row: 'new' | 'old', sign: 1 | -1): string {
  const figures = [
    '1',
    `coalesce(${row}.prompt_tokens, 0)`,
    `coalesce(${row}.completion_tokens, 0)`,
    `coalesce(${row}.model_ms, 0)`,
    `${row}.status = 'error'`,
  ].map((value) => (sign === 1 ? value : `-(${value})`));
  const buckets = BUCKET_COLUMNS.map((_, i) => (sign === 1 ? `k = ${i}` : `-(k = ${i})`));
  const sums = ['requests', 'prompt_tokens', 'completion_tokens', 'model_ms', 'errors', ...BUCKET_COLUMNS];
  return `INSERT INTO usage_daily (day, key_id, model, source, ${sums.join(', ')})
      SELECT ${[...GROUP_VALUES(row), ...figures, ...buckets].join(', ')} FROM (SELECT ${bucketSql(`${row}.duration_ms`)} AS k) WHERE true
      ON CONFLICT (day, key_id, model, source) DO UPDATE SET ${sums.map((column) => `${column} = ${column} + excluded.${column}`).join(', ')};`;
}

/** The statements that create the rollup, fill it from the stored rows, and keep it in step. */
export function rollupSchema(): string[] {
  const sums = ['requests', 'prompt_tokens', 'completion_tokens', 'model_ms', 'errors', ...BUCKET_COLUMNS];
  const watched = 'ts, key_id, model, source, status, prompt_tokens, completion_tokens, model_ms, duration_ms';
  return [
    `CREATE TABLE usage_daily (
      day TEXT NOT NULL, key_id TEXT NOT NULL, model TEXT NOT NULL, source TEXT NOT NULL,
      ${sums.map((column) => `${column} INTEGER NOT NULL DEFAULT 0`).join(', ')},
      PRIMARY KEY (day, key_id, model, source)
    ) WITHOUT ROWID`,
    `INSERT INTO usage_daily (day, key_id, model, source, ${sums.join(', ')})
      SELECT substr(ts, 1, 10), coalesce(key_id, ''), coalesce(model, ''), source, COUNT(*), TOTAL(prompt_tokens), TOTAL(completion_tokens),
        TOTAL(model_ms), TOTAL(status = 'error'), ${BUCKET_COLUMNS.map((_, i) => `TOTAL(k = ${i})`).join(', ')}
      FROM (SELECT *, ${bucketSql('duration_ms')} AS k FROM conversations)
      GROUP BY 1, 2, 3, 4`,
    `CREATE TRIGGER usage_daily_insert AFTER INSERT ON conversations BEGIN ${upsert('new', 1)} END`,
    `CREATE TRIGGER usage_daily_delete AFTER DELETE ON conversations BEGIN ${upsert('old', -1)} END`,
    `CREATE TRIGGER usage_daily_update AFTER UPDATE OF ${watched} ON conversations BEGIN ${upsert('old', -1)} ${upsert('new', 1)} END`,
  ];
}
