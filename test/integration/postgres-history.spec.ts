import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../src/core/persistence/data-source-options';
import { DatabaseHealth } from '../../src/core/persistence/database-health';
import { SEARCH_CONFIG } from '../../src/core/persistence/postgres/postgres-search';
import { openPgDataSource } from '../../src/core/persistence/postgres/pg-data-source-options';
import { PostgresConversationHistoryRepository } from '../../src/core/persistence/postgres/postgres-conversation-history.repository';
import { PostgresKeyUsageSource } from '../../src/core/persistence/postgres/postgres-key-usage.source';
import { PostgresUsageRepository } from '../../src/core/persistence/postgres/postgres-usage.repository';
import { SqliteConversationHistoryRepository } from '../../src/core/persistence/sqlite/sqlite-conversation-history.repository';
import { openSqliteDataSource } from '../../src/core/persistence/sqlite/sqlite-data-source-options';
import { SqliteKeyUsageSource } from '../../src/core/persistence/sqlite/sqlite-key-usage.source';
import { SqliteUsageRepository } from '../../src/core/persistence/sqlite/sqlite-usage.repository';
import { parseSearchQuery } from '../../src/core/persistence/search-query';
import type { UsageDimension } from '../../src/core/persistence/usage.repository';
import { exchange, historyContract, HistoryStore } from '../support/history-contract';
import { describeWithPostgres } from '../support/postgres';
import { tempDir } from '../support/test-app';

const openPostgres = async (url: string) => openPgDataSource(buildDataSourceOptions({ database: { type: 'postgres', url } }));

function postgresStore(dataSource: DataSource): HistoryStore {
  const health = new DatabaseHealth();
  return {
    history: new PostgresConversationHistoryRepository(dataSource, health),
    keyUsage: new PostgresKeyUsageSource(dataSource, health),
    execute: (sql) => dataSource.query(sql),
    close: () => dataSource.destroy(),
  };
}

async function sqliteStore(): Promise<HistoryStore & { dataSource: DataSource }> {
  const temp = tempDir('vega-history-');
  const dataSource = await openSqliteDataSource(buildDataSourceOptions({ database: { type: 'sqlite', path: join(temp.dir, 'vega.db') } }));
  const health = new DatabaseHealth();
  return {
    dataSource,
    history: new SqliteConversationHistoryRepository(dataSource, health),
    keyUsage: new SqliteKeyUsageSource(dataSource, health),
    execute: (sql) => dataSource.query(sql),
    close: async () => {
      await dataSource.destroy();
      temp.remove();
    },
  };
}

describe('History read side on SQLite (the contract both dialects share)', () => {
  historyContract(sqliteStore);
});

describeWithPostgres('History read side on PostgreSQL', (server) => {
  historyContract(async () => postgresStore(await openPostgres(await server().createDatabase())));

  it('stores, looks up and searches a U+0000 as U+FFFD, which PostgreSQL can hold (the write path\'s rule)', async () => {
    const store = postgresStore(await openPostgres(await server().createDatabase()));
    try {
      await store.history.importMany([exchange('nul\u0000inside', 'r', { tags: 't\u0000', responseId: 'resp_\u0000' })]);
      expect(await store.history.updateFeedback(1, { notes: 'a\u0000b' })).toMatchObject({ notes: 'a\uFFFDb', prompt: 'nul\uFFFDinside' });
      expect((await store.history.newest({ tags: ['t\u0000'] }, { limit: 5 })).map((row) => row.id)).toEqual([1]);
      expect(await store.history.findByResponseId('resp_\u0000')).toMatchObject({ id: 1 });
      expect((await store.history.newest({ search: parseSearchQuery('nul\u0000inside') }, { limit: 5 })).map((row) => row.id)).toEqual([1]);
      // Imported again: the response id is held already (as U+FFFD), so the copy comes without it.
      await store.history.importMany([exchange('again', 'r', { responseId: 'resp_\u0000' })]);
      expect(await store.history.findExchange(2)).toMatchObject({ responseId: null });
    } finally {
      await store.close();
    }
  });

  describe(PostgresUsageRepository.name, () => {
    let pg: DataSource;
    let sqlite: Awaited<ReturnType<typeof sqliteStore>>;
    beforeAll(async () => {
      pg = await openPostgres(await server().createDatabase());
      sqlite = await sqliteStore();
      // Three days of exchanges over two keys (one managed, with a name), two models and the lanes, durations spread wide.
      const rows = Array.from({ length: 240 }, (_, i) =>
        exchange(`p${i}`, 'r', {
          ts: new Date(Date.UTC(2026, 11, 3) + i * 18 * 60_000 + 7_000),
          keyId: i % 5 === 0 ? null : i % 2 === 0 ? 'key_managed' : 'primary',
          model: i % 7 === 0 ? null : i % 3 === 0 ? 'llama3' : 'mistral',
          source: i % 11 === 0 ? 'cli' : 'api',
          status: i % 13 === 0 ? 'error' : i % 17 === 0 ? 'cached' : 'ok',
          promptTokens: i % 4 === 0 ? null : i,
          completionTokens: 2 * i,
          modelMs: i % 6 === 0 ? null : 10 * i,
          durationMs: i % 9 === 0 ? null : Math.round(Math.exp(i / 25)),
        }),
      );
      for (const store of [postgresStore(pg), sqlite]) await store.history.importMany(rows);
      const key = ['key_managed', 'team-a', 'hash', 'vk_', '["chat"]', '2026-12-01T00:00:00.000Z'];
      await pg.query(`INSERT INTO api_keys (id, name, secret_hash, prefix, scopes, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)`, key);
      await sqlite.dataSource.query(`INSERT INTO api_keys (id, name, secret_hash, prefix, scopes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`, [...key, key[5]]);
    });
    afterAll(async () => {
      await pg?.destroy();
      await sqlite?.close();
    });

    it.each<[string, UsageDimension[], { from: string; to: string }]>([
      ['the whole range, whole days from the rollup, by lane', ['lane'], { from: '2026-12-01T00:00:00Z', to: '2026-12-08T00:00:00Z' }],
      ['partial days at both ends, by key and model', ['key', 'model'], { from: '2026-12-03T05:30:00Z', to: '2026-12-05T13:15:00Z' }],
      ['by day and lane', ['day', 'lane'], { from: '2026-12-03T12:00:00Z', to: '2026-12-06T00:00:00Z' }],
      ['within one day', ['model'], { from: '2026-12-04T01:00:00Z', to: '2026-12-04T23:00:00Z' }],
      ['an empty range', ['key'], { from: '2027-01-01T00:00:00Z', to: '2027-01-02T00:00:00Z' }],
    ])('reports %s exactly as on SQLite', async (_case, groupBy, range) => {
      const dates = { from: new Date(range.from), to: new Date(range.to) };
      const expected = await new SqliteUsageRepository(sqlite.dataSource).report(dates, groupBy);
      const actual = await new PostgresUsageRepository(pg, new DatabaseHealth()).report(dates, groupBy);
      expect(actual).toEqual(expected);
      if (groupBy.includes('key')) {
        const named = actual.groups.find((group) => group.keyId === 'key_managed');
        if (named) expect(named.keyName).toBe('team-a');
      }
    });

    it('reads the rollup for whole days: its sums match the rows after updates and deletes', async () => {
      await pg.query(`UPDATE conversations SET status = 'error', duration_ms = 5 WHERE id % 10 = 1`);
      await pg.query(`DELETE FROM conversations WHERE id % 10 = 2`);
      const [check] = await pg.query(
        `SELECT (SELECT sum(requests) FROM usage_daily) AS rolled, (SELECT count(*) FROM conversations) AS counted,
                (SELECT sum(errors) FROM usage_daily) AS rolled_errors, (SELECT count(*) FROM conversations WHERE status = 'error') AS errors`,
      );
      expect(Number(check.rolled)).toBe(Number(check.counted));
      expect(Number(check.rolled_errors)).toBe(Number(check.errors));
    });
  });

  describe('full-text search plan', () => {
    it('finds the matches through the GIN index on search_vector, the newest of a rare word too', async () => {
      const dataSource = await openPostgres(await server().createDatabase());
      try {
        const repo = new PostgresConversationHistoryRepository(dataSource, new DatabaseHealth());
        const zebras = new Set([3, 700, 5999]);
        await repo.importMany(
          Array.from({ length: 6000 }, (_, i) => exchange(`row ${i} ${i % 500 === 0 ? 'needle' : 'hay'}${zebras.has(i + 1) ? ' zebra' : ''}`, 'x')),
        );
        // A table this small is cheaper to scan: rule the scan out to see that the search's shape can use the index.
        const runner = dataSource.createQueryRunner();
        try {
          await runner.query('SET enable_seqscan = off');
          const plan: { 'QUERY PLAN': string }[] = await runner.query(
            `EXPLAIN SELECT c.id FROM conversations c CROSS JOIN (SELECT phraseto_tsquery('${SEARCH_CONFIG}', 'needle') AS q) s WHERE c.search_vector @@ s.q`,
          );
          expect(plan.map((line) => line['QUERY PLAN']).join('\n')).toMatch(/Bitmap Index Scan on ix_conv_search/);
        } finally {
          await runner.query('RESET enable_seqscan');
          await runner.release();
        }
        const hits = await repo.ranked({ search: parseSearchQuery('needle') }, { maxId: 2000, offset: 0, limit: 10, matches: 5000 });
        // Equal relevance: the newest first.
        expect(hits.map((hit) => hit.id)).toEqual([1501, 1001, 501, 1]);
        // A word in nearly every row, known as such from the statistics: its newest matches are found by walking the key down.
        await dataSource.query('ANALYZE conversations');
        const hay = await repo.ranked({ search: parseSearchQuery('hay') }, { maxId: 6000, offset: 0, limit: 20, matches: 10 });
        expect(hay.map((hit) => hit.id).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => 5991 + i));
        // Newest first: a common word's page comes from the newest rows, a rare word's also from rows far below them.
        const newest = async (q: string, page: { beforeId?: number; limit: number }) => (await repo.newest({ search: parseSearchQuery(q) }, page)).map((row) => row.id);
        expect(await newest('needle', { limit: 3 })).toEqual([5501, 5001, 4501]);
        expect(await newest('zebra', { limit: 3 })).toEqual([5999, 700, 3]);
        expect(await newest('zebra', { limit: 2 })).toEqual([5999, 700]);
        expect(await newest('zebra', { beforeId: 5999, limit: 5 })).toEqual([700, 3]);
        expect(await newest('zebra row', { beforeId: 701, limit: 5 })).toEqual([700, 3]);
        expect(await repo.newest({ search: parseSearchQuery('zebra'), statuses: ['error'] }, { limit: 5 })).toEqual([]);
      } finally {
        await dataSource.destroy();
      }
    });
  });
});
