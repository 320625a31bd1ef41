import { Client } from 'pg';
import { buildDataSourceOptions } from '../src/core/persistence/data-source-options';
import { openPgDataSource } from '../src/core/persistence/postgres/pg-data-source-options';
import { seedExchanges, seedKeyRows, type SeedExchange, type SeedResult } from './db-seed';

/** Rows per INSERT: each column one array parameter (`unnest`), as the write path sends them. */
const PER_STATEMENT = 5_000;

const COLUMNS: [string, string, (row: SeedExchange) => unknown][] = [
  ['ts', 'timestamptz', (row) => row.ts.toISOString()],
  ['prompt', 'text', (row) => row.prompt],
  ['response', 'text', (row) => row.response],
  ['source', 'text', (row) => row.source],
  ['session_id', 'text', (row) => row.sessionId],
  ['rating', 'int', (row) => row.rating],
  ['reviewed', 'int', (row) => (row.reviewed ? 1 : 0)],
  ['model', 'text', (row) => row.model],
  ['status', 'text', (row) => row.status],
  ['prompt_tokens', 'int', (row) => row.promptTokens],
  ['completion_tokens', 'int', (row) => row.completionTokens],
  ['key_id', 'text', (row) => row.keyId],
  ['duration_ms', 'int', (row) => row.durationMs],
  ['model_ms', 'int', (row) => row.modelMs],
];

const INSERT = `INSERT INTO conversations (${COLUMNS.map(([name]) => name).join(', ')})
  SELECT * FROM unnest(${COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})`;

/**
 * Creates the schema on the empty database at `url` with the app's own migrations (under their
 * lock), then inserts `rows` conversations (`seedExchanges`, the SQLite benchmark's data) by
 * 5,000-row INSERTs, the usage rollup's statement triggers on. The GIN index of the search is
 * dropped during the load and built again after it (as a bulk load would be done: building it
 * once is several times faster than growing it row by row); then VACUUM ANALYZE, as autovacuum
 * would leave a table that has been live for a while.
 */
export async function seedPostgres(url: string, rows: number, log: (line: string) => void): Promise<SeedResult & { words: string[] }> {
  const dataSource = await openPgDataSource(buildDataSourceOptions({ database: { type: 'postgres', url } }));
  await dataSource.destroy();

  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SET synchronous_commit = off');
    await client.query(`SET maintenance_work_mem = '512MB'`);
    const started = Date.now();
    const { exchanges, sessions, words } = seedExchanges(rows, started);
    for (const key of seedKeyRows(started)) {
      await client.query(
        `INSERT INTO api_keys (id, name, secret_hash, prefix, scopes, limits, created_at, updated_at) VALUES ($1, $2, $3, 'vk-seeded', '["chat"]', '{}', $4, $5)`,
        key,
      );
    }
    const index = await client.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_conv_search'`);
    await client.query('DROP INDEX ix_conv_search');
    let batch: SeedExchange[] = [];
    let done = 0;
    const flush = async () => {
      await client.query(INSERT, COLUMNS.map(([, , value]) => batch.map(value)));
      done += batch.length;
      batch = [];
      if (done % 200_000 === 0 || done === rows) log(`  seeded ${done.toLocaleString('en')} rows (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    };
    for (const row of exchanges) {
      batch.push(row);
      if (batch.length === PER_STATEMENT) await flush();
    }
    if (batch.length > 0) await flush();
    const indexStarted = Date.now();
    await client.query(index.rows[0].indexdef);
    log(`  search index built in ${((Date.now() - indexStarted) / 1000).toFixed(0)} s`);
    await client.query('VACUUM ANALYZE');
    return { rows, sessions, words, seconds: (Date.now() - started) / 1000 };
  } finally {
    await client.end();
  }
}
