import { execDb } from '../support/seed';
import { queryDb } from '../support/sqlite';
import { Metrics } from '../support/prometheus';
import { scopedKeys, TEST_API_KEY, useAppWithFakeOllama, type TestApp } from '../support/test-app';

const TEAM_KEY = 'team-key-0123456789abcdef';

interface Row {
  ts: string;
  key?: string | null;
  model?: string | null;
  source?: string;
  status?: string;
  prompt?: number;
  completion?: number;
  ms?: number | null;
  modelMs?: number | null;
}

/** Exchanges with known figures, straight into the app's database file. */
async function seed(app: TestApp, rows: Row[]): Promise<void> {
  for (const row of rows) {
    await execDb(
      app.dbPath,
      `INSERT INTO conversations (ts, prompt, response, source, model, status, prompt_tokens, completion_tokens, duration_ms, model_ms, key_id)
       VALUES (?, 'p', 'r', ?, ?, ?, ?, ?, ?, ?, ?)`,
      [row.ts, row.source ?? 'api', row.model === undefined ? 'mistral' : row.model, row.status ?? 'ok', row.prompt ?? 10, row.completion ?? 20, row.ms === undefined ? 100 : row.ms, row.modelMs === undefined ? 50 : row.modelMs, row.key === undefined ? 'primary' : row.key],
    );
  }
}

/** A duration read from the report's histogram: within its bucket (±11 %) of the exact value. */
const near = (ms: number) => ({
  asymmetricMatch: (value: unknown) => typeof value === 'number' && Math.abs(value - ms) <= ms * 0.11,
  toString: () => `≈${ms}`,
  toAsymmetricMatcher: () => `≈${ms}`,
});

const figures = (overrides: Record<string, unknown>) => ({
  requests: expect.any(Number),
  prompt_tokens: expect.any(Number),
  completion_tokens: expect.any(Number),
  tokens: expect.any(Number),
  model_seconds: expect.any(Number),
  errors: expect.any(Number),
  p50_ms: expect.any(Number),
  p95_ms: expect.any(Number),
  ...overrides,
});

/** `GET /admin/usage`: requests, tokens, model time, errors and latency per key, model, day or lane (e2e). */
describe('GET /admin/usage (e2e)', () => {
  const harness = useAppWithFakeOllama(['mistral', 'llama3.2']);
  const start = () => harness.start({}, { keyStores: [scopedKeys({ [TEAM_KEY]: ['chat'] })] });

  it('reports the traffic of each key as it was served, by key and by lane', async () => {
    const app = await start();
    expect((await app.request('/chat', { method: 'POST', body: { prompt: 'hi' } })).status).toBe(200);
    for (let i = 0; i < 2; i += 1) {
      const res = await app.request('/v1/chat/completions', { method: 'POST', key: TEAM_KEY, body: { model: 'llama3.2', messages: [{ role: 'user', content: `q${i}` }] } });
      expect(res.status).toBe(200);
    }
    const stored = await queryDb<{ key_id: string; prompt_tokens: number; completion_tokens: number; model_ms: number }>(
      app.dbPath,
      'SELECT key_id, prompt_tokens, completion_tokens, model_ms FROM conversations WHERE key_id = ?',
      ['key-1'],
    );
    const teamTokens = stored.reduce((sum, row) => sum + row.prompt_tokens + row.completion_tokens, 0);
    const teamModelSeconds = stored.reduce((sum, row) => sum + row.model_ms, 0) / 1000;

    const res = await app.request('/admin/usage');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({
      from: expect.stringMatching(/Z$/),
      to: expect.stringMatching(/Z$/),
      group_by: ['key'],
      groups: [
        figures({ key_id: 'key-1', key_name: 'key-1', requests: 2, tokens: teamTokens, model_seconds: teamModelSeconds, errors: 0 }),
        figures({ key_id: 'primary', key_name: 'primary', requests: 1, errors: 0 }),
      ],
      totals: figures({ requests: 3 }),
    });
    // The default range: the last 30 days, up to now.
    expect(Date.parse(body.to) - Date.parse(body.from)).toBe(30 * 86_400_000);
    expect(Math.abs(Date.parse(body.to) - Date.now())).toBeLessThan(60_000);

    const lanes = await (await app.request('/admin/usage?group_by=lane,model')).json();
    expect(lanes.groups.map((group: { lane: string; model: string; requests: number }) => [group.lane, group.model, group.requests])).toEqual([
      ['api', 'mistral', 1],
      ['openai', 'llama3.2', 2],
    ]);
  });

  it('groups by one or two dimensions over a range of whole and partial days, with percentiles and key names', async () => {
    const app = await start();
    await execDb(
      app.dbPath,
      `INSERT INTO api_keys (id, name, secret_hash, prefix, scopes, limits, created_at, updated_at) VALUES ('k_team', 'research-team', 'h', 'vk-abcdefg', '["chat"]', '{}', '2026-01-01', '2026-01-01')`,
    );
    await seed(app, [
      { ts: '2026-10-31 23:59:59.999', prompt: 1000 }, // before the range
      { ts: '2026-11-01 00:00:00.000', ms: 100, modelMs: 1500 },
      { ts: '2026-11-01 12:00:00.000', ms: 200, status: 'error', prompt: 5, completion: 0 },
      { ts: '2026-11-01 13:00:00.000', key: 'k_team', ms: 300, model: 'llama3.2', source: 'openai' },
      { ts: '2026-11-02 08:00:00.000', key: 'k_team', ms: 400 },
      { ts: '2026-11-02 09:00:00.000', key: null, source: 'cli', ms: null, modelMs: null, model: null },
      { ts: '2026-11-02 23:59:59.999', key: 'k_team', ms: 1000 },
      { ts: '2026-11-03 00:00:00.000', prompt: 1000 }, // after the range (to is a date: its whole day is in)
    ]);

    const res = await app.request('/admin/usage?from=2026-11-01&to=2026-11-02&group_by=day,key');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-11-03T00:00:00.000Z',
      group_by: ['day', 'key'],
      // By day, then by the key's name; exchanges without a key last.
      groups: [
        { day: '2026-11-01', key_id: 'primary', key_name: 'primary', requests: 2, prompt_tokens: 15, completion_tokens: 20, tokens: 35, model_seconds: 1.55, errors: 1, p50_ms: near(100), p95_ms: near(200) },
        { day: '2026-11-01', key_id: 'k_team', key_name: 'research-team', requests: 1, prompt_tokens: 10, completion_tokens: 20, tokens: 30, model_seconds: 0.05, errors: 0, p50_ms: near(300), p95_ms: near(300) },
        { day: '2026-11-02', key_id: 'k_team', key_name: 'research-team', requests: 2, prompt_tokens: 20, completion_tokens: 40, tokens: 60, model_seconds: 0.1, errors: 0, p50_ms: near(400), p95_ms: near(1000) },
        { day: '2026-11-02', key_id: null, key_name: null, requests: 1, prompt_tokens: 10, completion_tokens: 20, tokens: 30, model_seconds: 0, errors: 0, p50_ms: null, p95_ms: null },
      ],
      // Durations 100, 200, 300, 400, 1000 (one row has none): the 3rd and the 5th by rank.
      totals: { requests: 6, prompt_tokens: 55, completion_tokens: 100, tokens: 155, model_seconds: 1.7, errors: 1, p50_ms: near(300), p95_ms: near(1000) },
    });

    const byModel = await (await app.request('/admin/usage?from=2026-11-01T00:00:00Z&to=2026-11-02T08:00:00Z&group_by=model')).json();
    expect(byModel.groups).toEqual([
      figures({ model: 'llama3.2', requests: 1, p50_ms: near(300), p95_ms: near(300) }),
      figures({ model: 'mistral', requests: 2, p50_ms: near(100), p95_ms: near(200) }),
    ]);
    // An offset is honoured: 09:30+01:00 is 08:30Z, which takes in the 08:00Z row.
    const offset = await (await app.request(`/admin/usage?from=2026-11-02T00:00:00Z&to=${encodeURIComponent('2026-11-02T09:30:00+01:00')}&group_by=lane`)).json();
    expect(offset.totals.requests).toBe(1);

    // The rollup follows deletes: the 1,000 ms exchange gone, the day's p95 is the 400 ms one.
    const [slow] = await queryDb<{ id: number }>(app.dbPath, 'SELECT id FROM conversations WHERE duration_ms = 1000');
    expect((await app.request(`/conversations/${slow!.id}`, { method: 'DELETE' })).status).toBe(204);
    const afterDelete = await (await app.request('/admin/usage?from=2026-11-02&to=2026-11-02&group_by=key')).json();
    expect(afterDelete.groups).toEqual([figures({ key_id: 'k_team', key_name: 'research-team', requests: 1, p50_ms: near(400), p95_ms: near(400) }), figures({ key_id: null, key_name: null, requests: 1, p50_ms: null, p95_ms: null })]);

    const empty = await (await app.request('/admin/usage?from=2020-01-01&to=2020-01-02&group_by=day')).json();
    expect(empty).toEqual({
      from: '2020-01-01T00:00:00.000Z',
      to: '2020-01-03T00:00:00.000Z',
      group_by: ['day'],
      groups: [],
      totals: { requests: 0, prompt_tokens: 0, completion_tokens: 0, tokens: 0, model_seconds: 0, errors: 0, p50_ms: null, p95_ms: null },
    });
  });

  it('refuses bad parameters with 400 and a key without the admin scope with 403', async () => {
    const app = await start();
    const cases: [string, RegExp][] = [
      ['group_by=user', /group_by must be one or two of key, model, day, lane/],
      ['group_by=key,key', /group_by must be one or two/],
      ['group_by=key,model,day', /group_by must be one or two/],
      ['group_by=', /group_by must be one or two/],
      ['group_by=key&group_by=day', /group_by must be one or two/],
      ['from=yesterday', /from must be an ISO 8601 date or date-time/],
      ['to=2026-13-45', /to must be an ISO 8601 date or date-time/],
      ['from=2026-11-05&to=2026-11-01', /from must be before to/],
      ['from=2026-11-01T00:00:00Z&to=2026-11-01T00:00:00Z', /from must be before to/],
    ];
    for (const [query, message] of cases) {
      const res = await app.request(`/admin/usage?${query}`);
      const body = await res.json();
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(JSON.stringify(body)).toMatch(message);
    }
    const refused = await app.request('/admin/usage', { key: TEAM_KEY });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(await refused.json())).toMatch(/admin/);
    expect((await app.request('/admin/usage', { key: null })).status).toBe(401);
  });
});

/** Prometheus: model calls and tokens by key name, the label bounded by METRICS_MAX_KEYS (e2e). */
describe('vega_key_requests_total and vega_key_tokens_total (e2e)', () => {
  const harness = useAppWithFakeOllama(['mistral']);
  const SECOND_KEY = 'second-key-0123456789abc';

  it('counts calls and tokens by key name; keys past METRICS_MAX_KEYS fold into "other"', async () => {
    const app = await harness.start({ METRICS_MAX_KEYS: '2' }, { keyStores: [scopedKeys({ [TEAM_KEY]: ['chat'], [SECOND_KEY]: ['chat'] })] });
    let asked = 0;
    // A different question each time: an answer from the cache costs the backend no tokens.
    const chat = async (key: string) =>
      expect((await app.request('/v1/chat/completions', { method: 'POST', key, body: { model: 'mistral', messages: [{ role: 'user', content: `question ${(asked += 1)}` }] } })).status).toBe(200);
    await chat(TEST_API_KEY);
    await chat(TEAM_KEY);
    await chat(TEAM_KEY);
    await chat(SECOND_KEY);
    const metrics = new Metrics(await (await app.request('/metrics', { key: null })).text());
    expect(metrics.labelValues('vega_key_requests_total', 'key')).toEqual(['key-1', 'other', 'primary']);
    expect(metrics.value('vega_key_requests_total', { key: 'primary' })).toBe(1);
    expect(metrics.value('vega_key_requests_total', { key: 'key-1' })).toBe(2);
    expect(metrics.value('vega_key_requests_total', { key: 'other' })).toBe(1);

    const stored = await queryDb<{ key_id: string; prompt: number; completion: number }>(
      app.dbPath,
      'SELECT key_id, SUM(prompt_tokens) AS prompt, SUM(completion_tokens) AS completion FROM conversations GROUP BY key_id',
    );
    const team = stored.find((row) => row.key_id === 'key-1')!;
    expect(team.prompt).toBeGreaterThan(0);
    expect(metrics.value('vega_key_tokens_total', { key: 'key-1', type: 'prompt' })).toBe(team.prompt);
    expect(metrics.value('vega_key_tokens_total', { key: 'key-1', type: 'completion' })).toBe(team.completion);
  });
});
