import { Metrics } from '../support/prometheus';
import { queryDb } from '../support/sqlite';
import { scopedKeys, useAppWithFakeOllama } from '../support/test-app';

const TEAM_KEY = 'team-key-0123456789abcdef';

interface OwnerRow {
  source: string;
  status: string;
  key_id: string | null;
  model_ms: number | null;
  duration_ms: number;
}

/** Every exchange records the key that made it, on every lane, and what it cost the backend; model calls are counted by lane. */
describe('the key and model time of each stored exchange (e2e)', () => {
  const harness = useAppWithFakeOllama(['mistral', { name: 'nomic-embed-text', capabilities: ['embedding'], embeddingLength: 12 }]);
  const start = (env: Record<string, string> = {}) => harness.start(env, { keyStores: [scopedKeys({ [TEAM_KEY]: ['chat'] })] });
  const rows = (dbPath: string) => queryDb<OwnerRow>(dbPath, 'SELECT source, status, key_id, model_ms, duration_ms FROM conversations ORDER BY id');

  it('charges each lane\'s exchange to the key that sent it', async () => {
    const app = await start();
    expect((await app.request('/chat', { method: 'POST', body: { prompt: 'hi' } })).status).toBe(200);
    const chatAsTeam = await app.request('/v1/chat/completions', {
      method: 'POST',
      key: TEAM_KEY,
      body: { model: 'mistral', n: 2, messages: [{ role: 'user', content: 'hello' }] },
    });
    expect(chatAsTeam.status).toBe(200);
    const stream = await app.request('/chat/sse', { method: 'POST', key: TEAM_KEY, body: { prompt: 'stream it' } });
    expect(stream.status).toBe(200);
    await stream.text();
    const embed = await app.request('/api/embed', { method: 'POST', key: TEAM_KEY, body: { model: 'nomic-embed-text', input: 'words' } });
    expect(embed.status).toBe(200);
    const generate = await app.request('/v1/completions', { method: 'POST', key: TEAM_KEY, body: { model: 'mistral', prompt: 'once' } });
    expect(generate.status).toBe(200);
    const message = await app.request('/v1/messages', { method: 'POST', key: TEAM_KEY, body: { model: 'mistral', max_tokens: 20, messages: [{ role: 'user', content: 'hey' }] } });
    expect(message.status).toBe(200);
    const response = await app.request('/v1/responses', { method: 'POST', key: TEAM_KEY, body: { model: 'mistral', input: 'hey again' } });
    expect(response.status).toBe(200);

    const stored = await rows(app.dbPath);
    expect(stored.map((row) => [row.source, row.key_id])).toEqual([
      ['api', 'primary'],
      ['openai', 'key-1'],
      ['openai', 'key-1'],
      ['api', 'key-1'],
      ['ollama', 'key-1'],
      ['openai', 'key-1'],
      ['anthropic', 'key-1'],
      ['responses', 'key-1'],
    ]);

    // The model calls are counted by the lane they came through, as their exchanges are stored.
    const metrics = new Metrics(await (await app.request('/metrics', { key: null })).text());
    const ok = (lane: string) => metrics.value('vega_llm_lane_requests_total', { lane, outcome: 'ok' });
    expect({ api: ok('api'), openai: ok('openai'), ollama: ok('ollama'), anthropic: ok('anthropic'), responses: ok('responses') }).toEqual({
      api: 2,
      openai: 3,
      ollama: 1,
      anthropic: 1,
      responses: 1,
    });
  });

  it('keeps the backend\'s own generation time, and none for an answer from the cache', async () => {
    const app = await start({ CACHE_TTL_SECONDS: '60' });
    for (let i = 0; i < 2; i += 1) {
      const res = await app.request('/v1/chat/completions', {
        method: 'POST',
        body: { model: 'mistral', temperature: 0, messages: [{ role: 'user', content: 'same question' }] },
      });
      expect(res.status).toBe(200);
    }
    const [first, second] = await rows(app.dbPath);
    expect(first.status).toBe('ok');
    // The fake reports a total_duration in nanoseconds: its milliseconds are stored.
    expect(first.model_ms).toBeGreaterThan(0);
    expect(second).toMatchObject({ status: 'cached', model_ms: 0 });
  });
});
