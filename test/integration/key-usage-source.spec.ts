import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { SPENT_SQL, SqliteKeyUsageSource } from '../../src/core/persistence/sqlite/sqlite-key-usage.source';
import { buildDataSourceOptions } from '../../src/core/persistence/data-source-options';
import { DatabaseHealth } from '../../src/core/persistence/database-health';
import { tempDir } from '../support/test-app';

describe(SqliteKeyUsageSource.name, () => {
  const temp = tempDir();
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = await new DataSource(buildDataSourceOptions({ database: { type: 'sqlite', path: join(temp.dir, 'vega.db') } })).initialize();
  });
  afterAll(async () => {
    await dataSource.destroy();
    temp.remove();
  });

  const insert = (ts: string, keyId: string | null, status: string, promptTokens: number | null, completionTokens: number | null, modelMs: number | null) =>
    dataSource.query(
      `INSERT INTO conversations (ts, prompt, response, source, status, key_id, prompt_tokens, completion_tokens, model_ms)
       VALUES (?, 'p', 'r', 'api', ?, ?, ?, ?, ?)`,
      [ts, status, keyId, promptTokens, completionTokens, modelMs],
    );

  it('sums the key\'s own uncached exchanges of the day and of the month from the stored rows', async () => {
    await insert('2026-11-30 23:59:59.999', 'k', 'ok', 1000, 1000, 9000); // last month
    await insert('2026-12-01 00:00:00.000', 'k', 'ok', 10, 20, 300); // this month, not today
    await insert('2026-12-05 23:59:59.999', 'k', 'error', 1, null, 50);
    await insert('2026-12-06 00:00:00.000', 'k', 'ok', 100, 200, 1500); // today
    await insert('2026-12-06 08:00:00.000', 'k', 'aborted', null, null, 700);
    await insert('2026-12-06 09:00:00.000', 'k', 'cached', 100, 200, 0); // from the cache: free
    await insert('2026-12-06 09:00:00.000', 'other', 'ok', 5000, 5000, 5000);
    await insert('2026-12-06 09:00:00.000', null, 'ok', 5000, 5000, 5000);

    const source = new SqliteKeyUsageSource(dataSource, new DatabaseHealth());
    const spent = await source.spent('k', new Date('2026-12-06T00:00:00.000Z'), new Date('2026-12-01T00:00:00.000Z'));
    expect(spent).toEqual({ day: { tokens: 300, modelMs: 2200 }, month: { tokens: 331, modelMs: 2550 } });
    // Only this month's rows are read, from the time-first covering index, not the key's whole history by key_id.
    const plan: Array<{ detail: string }> = await dataSource.query(
      `EXPLAIN QUERY PLAN ${SPENT_SQL}`,
      ['2026-12-06 00:00:00.000', '2026-12-06 00:00:00.000', 'k', '2026-12-01 00:00:00.000'],
    );
    expect(plan.map((step) => step.detail).join(' | ')).toMatch(/^SEARCH conversations USING COVERING INDEX ix_conv_usage \(ts>\?\)$/);
    expect(await source.spent('nobody', new Date('2026-12-06T00:00:00.000Z'), new Date('2026-12-01T00:00:00.000Z'))).toEqual({
      day: { tokens: 0, modelMs: 0 },
      month: { tokens: 0, modelMs: 0 },
    });
  });
});
