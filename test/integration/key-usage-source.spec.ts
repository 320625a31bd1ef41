import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { SPENT_SQL, SqliteKeyUsageSource } from '../../src/core/persistence/sqlite/sqlite-key-usage.source';
import { buildDataSourceOptions } from '../../src/core/persistence/data-source-options';
import { DatabaseHealth } from '../../src/core/persistence/database-health';
import { KEY_USAGE_FIXTURE } from '../support/history-fixtures';
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
    const { rows, dayStart, monthStart, spent } = KEY_USAGE_FIXTURE;
    for (const [ts, keyId, status, promptTokens, completionTokens, modelMs] of rows) await insert(ts, keyId, status, promptTokens, completionTokens, modelMs);

    const source = new SqliteKeyUsageSource(dataSource, new DatabaseHealth());
    expect(await source.spent('k', dayStart, monthStart)).toEqual(spent);
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
