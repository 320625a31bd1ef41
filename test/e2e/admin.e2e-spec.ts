import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SchedulerRegistry } from '@nestjs/schedule';
import { loadConfig } from '../../src/config/app-config';
import { RETENTION_JOB, RetentionService } from '../../src/modules/admin/retention.service';
import { queryDb, searchIndexCount, searchIndexIds } from '../support/sqlite';
import { restoredBackup, testDatabase } from '../support/test-database';
import { execDb, seedConversations } from '../support/seed';
import { TEST_API_KEY, TestApp, TestResponse, useAppWithFakeOllama } from '../support/test-app';

const EXTRA_KEY = 'extra-key-0123456789abcdef';
const LIMITED_KEY = 'limited-key-0123456789abcd';
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().replace('T', ' ').slice(0, 23);

describe('admin API', () => {
  const env = useAppWithFakeOllama(['mistral', 'llama3']);
  const fake = env.fake;
  let t: TestApp;
  const start = async (vars: Record<string, string> = {}) => {
    t = await env.start({ RATE_LIMIT_PER_MINUTE: '0', ...vars });
    return t;
  };
  const post = (path: string, body?: unknown) => t.request(path, { method: 'POST', body });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const json = async (res: Promise<TestResponse>, status = 200): Promise<any> => {
    const awaited = await res;
    expect(awaited.status).toBe(status);
    return awaited.json();
  };

  describe('GET/POST /admin/gen, POST /admin/gen/reset', () => {
    beforeEach(() => start({ GEN_TEMPERATURE: '0.3', GEN_TOP_K: '20' }));

    it('shows, changes and resets the generation settings used for chat', async () => {
      const defaults = {
        temperature: 0.3,
        top_p: 0.9,
        top_k: 20,
        repeat_penalty: 1.1,
        presence_penalty: 0,
        frequency_penalty: 0,
        dynamic_generation: false,
      };
      expect(await json(t.request('/admin/gen'))).toEqual(defaults);
      const changed = await json(post('/admin/gen', { temperature: 1.5, top_k: 5, presence_penalty: -1 }));
      expect(changed).toEqual({ ...defaults, temperature: 1.5, top_k: 5, presence_penalty: -1 });
      expect(await json(t.request('/admin/gen'))).toEqual(changed);
      await t.request('/chat', { body: { prompt: 'x' } });
      expect(fake.chatRequests()[0].body.options).toMatchObject({ temperature: 1.5, top_k: 5, presence_penalty: -1 });
      expect(await json(post('/admin/gen', { dynamic_generation: true }))).toMatchObject({ dynamic_generation: true, temperature: 1.5 });
      expect(await json(post('/admin/gen/reset'))).toEqual(defaults);
      expect(await json(t.request('/admin/gen'))).toEqual(defaults);
    });

    it.each([
      [{ temperature: 2.01 }, 'temperature must be a number between 0 and 2'],
      [{ temperature: -0.1 }, 'temperature must be a number between 0 and 2'],
      [{ temperature: 'hot' }, 'temperature must be a number between 0 and 2'],
      [{ top_p: 1.1 }, 'top_p must be a number between 0 and 1'],
      [{ top_k: 0 }, 'top_k must be an integer between 1 and 1000'],
      [{ top_k: 2.5 }, 'top_k must be an integer between 1 and 1000'],
      [{ repeat_penalty: 3 }, 'repeat_penalty must be a number between 0 and 2'],
      [{ presence_penalty: -2.5 }, 'presence_penalty must be a number between -2 and 2'],
      [{ frequency_penalty: 9 }, 'frequency_penalty must be a number between -2 and 2'],
      [{ dynamic_generation: 'yes' }, 'dynamic_generation must be true or false'],
      [{ dynamic: true }, 'property dynamic should not exist'],
      [{}, 'give at least one of temperature'],
    ])('answers 400 for %j and changes nothing', async (body, message) => {
      const res = await post('/admin/gen', body);
      expect(res.status).toBe(400);
      expect((await res.json()).message).toContain(message);
      expect((await json(t.request('/admin/gen'))).temperature).toBe(0.3);
    });
  });

  describe('GET /admin/status', () => {
    it('reports version, uptime, backend, breaker, cache and database, with every secret redacted', async () => {
      await start({ API_KEYS_EXTRA: `${EXTRA_KEY},${LIMITED_KEY}`, RATE_LIMIT_OVERRIDES: `${LIMITED_KEY}=3`, MODEL_NAME: 'llama3' });
      await t.request('/chat', { body: { prompt: 'same' } });
      await t.request('/chat', { body: { prompt: 'same' } });
      const res = await t.request('/admin/status');
      const text = await res.text();
      expect(res.status).toBe(200);
      const body = JSON.parse(text);
      expect(body).toMatchObject({
        version: expect.stringMatching(/^\d+\.\d+\.\d+/),
        uptime_seconds: expect.any(Number),
        started_at: expect.stringMatching(/Z$/),
        backend: { kind: 'ollama', urls: [fake.url], model: 'llama3' },
        breaker: { state: 'closed', consecutive_failures: 0, retry_after_seconds: 0 },
        cache: { enabled: true, size: 1, max_entries: 1000, ttl_seconds: 60, hits: 1, misses: 1 },
        database: { path: t.dbPath, conversations: 2, wal_bytes: expect.any(Number) },
      });
      expect(body.database.size_bytes).toBeGreaterThan(0);
      expect(body.config).toMatchObject({
        http: { host: '127.0.0.1' },
        auth: { apiKey: '[redacted]', extraKeys: ['[redacted]', '[redacted]'] },
        rateLimit: { perMinute: 0, overrides: { '[redacted]#1': 3 } },
        llm: { model: 'llama3' },
      });
      for (const secret of [TEST_API_KEY, EXTRA_KEY, LIMITED_KEY]) expect(text).not.toContain(secret);
    });

    it('removes credentials from backend URLs', async () => {
      await start({ OLLAMA_URL: 'http://vega:s3cr3t-pass@127.0.0.1:9' });
      const res = await t.request('/admin/status');
      const text = await res.text();
      expect(JSON.parse(text).backend.urls).toEqual(['http://[redacted]@127.0.0.1:9']);
      expect(text).not.toContain('s3cr3t-pass');
    });
  });

  describe('POST /admin/cache/clear', () => {
    it('empties the answer cache', async () => {
      await start();
      await t.request('/chat', { body: { prompt: 'cached?' } });
      await t.request('/chat', { body: { prompt: 'cached?' } });
      expect(fake.chatRequests()).toHaveLength(1);
      const body = await json(post('/admin/cache/clear'));
      expect(body).toEqual({ cleared: 1, cache: expect.objectContaining({ size: 0, hits: 1, misses: 1 }) });
      await t.request('/chat', { body: { prompt: 'cached?' } });
      expect(fake.chatRequests()).toHaveLength(2);
    });
  });

  describe('POST /admin/breaker/reset', () => {
    it('closes an open breaker so requests reach the backend again at once', async () => {
      await start({ BREAKER_FAIL_THRESHOLD: '1', BREAKER_RESET_SECONDS: '600', LLM_MAX_RETRIES: '0' });
      fake.enqueue({ kind: 'status', status: 500 });
      expect((await t.request('/chat', { body: { prompt: 'a' } })).status).toBe(502);
      expect((await t.request('/chat', { body: { prompt: 'b' } })).status).toBe(503);
      expect((await json(t.request('/admin/status'))).breaker).toMatchObject({ state: 'open', retry_after_seconds: expect.any(Number) });
      const body = await json(post('/admin/breaker/reset'));
      expect(body).toEqual({ previous_state: 'open', breaker: { state: 'closed', consecutive_failures: 0, retry_after_seconds: 0 } });
      expect((await t.request('/chat', { body: { prompt: 'c' } })).status).toBe(200);
    });
  });

  describe('POST /admin/db/backup', () => {
    it('writes a consistent copy into the data directory and reports its path and size', async () => {
      await start();
      await seedConversations(t.dbPath, [{ prompt: 'backed up words', response: 'r' }, { prompt: 'two', response: 'r' }]);
      const body = await json(post('/admin/db/backup'));
      // SQLite: a copy of the file; PostgreSQL: pg_dump's custom format, restored here by pg_restore.
      const extension = testDatabase() === 'sqlite' ? 'db' : 'dump';
      expect(body).toEqual({ path: expect.stringMatching(new RegExp(`vega-\\d{8}-\\d{6}-\\d{3}-[0-9a-f]{4}\\.${extension}$`)), size_bytes: expect.any(Number), created_at: expect.any(String) });
      expect(dirname(body.path)).toBe(join(t.dataDir, 'backups'));
      expect(existsSync(body.path)).toBe(true);
      expect(body.size_bytes).toBeGreaterThan(0);
      const copy = await restoredBackup(body.path);
      expect(await queryDb(copy, 'SELECT id, prompt FROM conversations ORDER BY id')).toEqual([
        { id: 1, prompt: 'backed up words' },
        { id: 2, prompt: 'two' },
      ]);
      expect(await searchIndexIds(copy, 'words')).toEqual([1]);
      // A second backup right away gets its own file.
      const again = await json(post('/admin/db/backup'));
      expect(again.path).not.toBe(body.path);
    });
  });

  describe('POST /admin/db/purge', () => {
    beforeEach(() => start());

    it('deletes conversations older than the given days, from history and search', async () => {
      await seedConversations(t.dbPath, [
        { prompt: 'ancient needle', response: 'r', ts: daysAgo(400) },
        { prompt: 'old needle', response: 'r', ts: daysAgo(31) },
        { prompt: 'recent needle', response: 'r', ts: daysAgo(29) },
        { prompt: 'new needle', response: 'r' },
      ]);
      const body = await json(post('/admin/db/purge', { older_than_days: 30 }));
      expect(body).toEqual({ deleted: 2, before: expect.stringMatching(/Z$/) });
      expect(Date.now() - Date.parse(body.before)).toBeGreaterThanOrEqual(30 * 86_400_000);
      expect((await json(t.request('/history'))).items.map((item: { id: number }) => item.id)).toEqual([4, 3]);
      expect((await json(t.request('/history?q=needle'))).items).toHaveLength(2);
      expect(await json(post('/admin/db/purge', { older_than_days: 30 }))).toMatchObject({ deleted: 0 });
    });

    it('deletes in batches and counts them all', async () => {
      await execDb(
        t.dbPath,
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4500)
         INSERT INTO conversations (ts, prompt, response) SELECT ?, 'bulk ' || i, 'r' FROM n`,
        [daysAgo(10)],
      );
      expect(await json(post('/admin/db/purge', { older_than_days: 5 }))).toMatchObject({ deleted: 4500 });
      expect(await searchIndexCount(t.dbPath)).toBe(0);
    });

    it.each([
      [{ older_than_days: 0 }, 'older_than_days must be between 1 and 36500'],
      [{ older_than_days: -3 }, 'older_than_days must be between 1 and 36500'],
      [{ older_than_days: 1.5 }, 'older_than_days must be an integer (days, 1..36500)'],
      [{ older_than_days: '30' }, 'older_than_days must be an integer (days, 1..36500)'],
      [{ older_than_days: 36501 }, 'older_than_days must be between 1 and 36500'],
      [{ older_than_days: null }, 'older_than_days must be an integer (days, 1..36500)'],
      [{}, 'older_than_days is required'],
      [{ older_than_days: 3, all: true }, 'property all should not exist'],
    ])('answers 400 naming the problem once for %j', async (body, message) => {
      await seedConversations(t.dbPath, [{ prompt: 'x', response: 'r', ts: daysAgo(100) }]);
      const res = await post('/admin/db/purge', body);
      expect(res.status).toBe(400);
      expect((await res.json()).message).toBe(message);
      expect(await queryDb(t.dbPath, 'SELECT count(*) AS n FROM conversations')).toEqual([{ n: 1 }]);
    });
  });

  describe('GET /admin/export', () => {
    beforeEach(() => start());
    const lines = async (query = '') => {
      const res = await t.request(`/admin/export${query}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="vega-export-\d{8}T\d{6}\.jsonl"$/);
      const text = await res.text();
      return text === '' ? [] : text.trimEnd().split('\n').map((line) => JSON.parse(line));
    };

    it('streams every conversation as one JSON object per line, newest first', async () => {
      await seedConversations(t.dbPath, [
        { prompt: 'first', response: 'r1', session_id: 's1' },
        { prompt: 'second "quoted"\nline', response: 'r2', session_id: 's2', rating: 5 },
      ]);
      const rows = await lines();
      expect(rows.map((row) => row.id)).toEqual([2, 1]);
      // Exactly what GET /conversations/{id} answers, kind, request and answer included.
      expect(rows[0]).toEqual(await json(t.request('/conversations/2')));
      expect(rows[0]).toMatchObject({ kind: 'chat', request: null, answer: null });
      expect(rows[0].prompt).toBe('second "quoted"\nline');
    });

    it('applies the history filters, including search', async () => {
      await seedConversations(t.dbPath, [
        { prompt: 'alpha needle', response: 'r', session_id: 's1' },
        { prompt: 'beta', response: 'r', session_id: 's1', rating: 4 },
        { prompt: 'gamma needle', response: 'r', session_id: 's2' },
      ]);
      expect((await lines('?session_id=s1')).map((row) => row.id)).toEqual([2, 1]);
      expect((await lines('?q=needle')).map((row) => row.id)).toEqual([3, 1]);
      expect((await lines('?q=needle')).every((row) => row.snippet === undefined)).toBe(true);
      expect((await lines('?min_rating=4')).map((row) => row.id)).toEqual([2]);
      expect(await lines('?q=nothing')).toEqual([]);
    });

    it('reads a large table in batches without repeating or losing a row', async () => {
      await execDb(
        t.dbPath,
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2600)
         INSERT INTO conversations (prompt, response, session_id) SELECT 'row ' || i, 'r', 's' || (i % 3) FROM n`,
      );
      const ids = (await lines()).map((row) => row.id);
      expect(ids).toHaveLength(2600);
      expect(ids[0]).toBe(2600);
      expect(ids.every((id, index) => index === 0 || id === ids[index - 1] - 1)).toBe(true);
      expect(await lines('?session_id=s1')).toHaveLength(867);
    });

    it.each([
      ['?q=%22open', 'q has an unbalanced double quote'],
      ['?since=last-week', 'since must be an ISO 8601 date'],
      ['?min_rating=9', 'min_rating must be an integer between 1 and 5'],
      ['?limit=10', 'property limit should not exist'],
    ])('answers a plain 400 for %s', async (query, message) => {
      const res = await t.request(`/admin/export${query}`);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect((await res.json()).message).toContain(message);
    });
  });

  describe('retention', () => {
    it('with RETENTION_DAYS > 0, schedules a daily purge of older conversations', async () => {
      await start({ RETENTION_DAYS: '7' });
      expect(t.app.get(SchedulerRegistry).getCronJob(RETENTION_JOB).isActive).toBe(true);
      await seedConversations(t.dbPath, [
        { prompt: 'stale', response: 'r', ts: daysAgo(8) },
        { prompt: 'fresh', response: 'r', ts: daysAgo(6) },
      ]);
      const result = await t.app.get(RetentionService).runOnce();
      expect(result).toMatchObject({ deleted: 1 });
      expect(await queryDb(t.dbPath, 'SELECT prompt FROM conversations')).toEqual([{ prompt: 'fresh' }]);
    });

    it('with RETENTION_DAYS=0 (the default), keeps everything and schedules nothing', async () => {
      await start();
      expect(t.app.get(SchedulerRegistry).getCronJob(RETENTION_JOB).isActive).toBe(false);
      await seedConversations(t.dbPath, [{ prompt: 'stale', response: 'r', ts: daysAgo(4000) }]);
      expect(await t.app.get(RetentionService).runOnce()).toBeUndefined();
      expect(await queryDb(t.dbPath, 'SELECT count(*) AS n FROM conversations')).toEqual([{ n: 1 }]);
    });

    it('refuses an invalid RETENTION_DAYS at start', () => {
      expect(() => loadConfig({ RETENTION_DAYS: '-1' })).toThrow('RETENTION_DAYS must be an integer between 0 and 36500 (got "-1")');
      expect(() => loadConfig({ RETENTION_DAYS: 'weekly' })).toThrow('RETENTION_DAYS must be an integer between 0 and 36500');
    });
  });
});
