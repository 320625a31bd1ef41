import { queryDb } from '../support/sqlite';
import { scopedKeys, startTestApp, tempDir, TestApp, TestKey, TestResponse, useAppWithFakeOllama } from '../support/test-app';
import { FakeOllama } from '../support/fake-ollama';
import type { KeyLimits } from '../../src/common/auth/principal';

const KEY = 'limited-key-0123456789abcdef';
const OTHER_KEY = 'other-key-0123456789abcdef';

/** The three lanes a key's limits apply on alike, each with its request and how its error body reads. */
const LANES = [
  {
    name: '/v1/chat/completions',
    send: (app: TestApp, key: string, prompt: string, extra: { maxTokens?: number; stream?: boolean; signal?: AbortSignal } = {}) =>
      fetch(`${app.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'mistral',
          messages: [{ role: 'user', content: prompt }],
          ...(extra.maxTokens ? { max_tokens: extra.maxTokens } : {}),
          ...(extra.stream ? { stream: true } : {}),
        }),
        signal: extra.signal,
      }) as Promise<TestResponse>,
    error: async (res: TestResponse) => {
      const body = await res.json();
      return { message: body.error.message as string, code: body.error.code as string | null };
    },
  },
  {
    name: '/api/chat',
    send: (app: TestApp, key: string, prompt: string, extra: { maxTokens?: number; stream?: boolean; signal?: AbortSignal } = {}) =>
      fetch(`${app.url}/api/chat`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'mistral',
          messages: [{ role: 'user', content: prompt }],
          stream: extra.stream === true,
          ...(extra.maxTokens ? { options: { num_predict: extra.maxTokens } } : {}),
        }),
        signal: extra.signal,
      }) as Promise<TestResponse>,
    error: async (res: TestResponse) => {
      const body = await res.json();
      expect(Object.keys(body)).toEqual(['error']);
      return { message: body.error as string, code: null };
    },
  },
  {
    name: '/chat',
    send: (app: TestApp, key: string, prompt: string, extra: { maxTokens?: number; stream?: boolean; signal?: AbortSignal } = {}) =>
      fetch(`${app.url}${extra.stream ? '/chat/sse' : '/chat'}`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt, model: 'mistral', ...(extra.maxTokens ? { options: { num_predict: extra.maxTokens } } : {}) }),
        signal: extra.signal,
      }) as Promise<TestResponse>,
    error: async (res: TestResponse) => {
      const body = await res.json();
      expect(body.statusCode).toBe(res.status);
      return { message: body.message as string, code: (body.code as string | undefined) ?? null };
    },
  },
];

const words = (count: number) => Array.from({ length: count }, (_, index) => `word${index}`).join(' ');
const nextUtcMidnight = () => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
};
const storedTokens = async (dbPath: string, keyId: string) =>
  (
    await queryDb<{ tokens: number | null }>(
      dbPath,
      'SELECT SUM(COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)) AS tokens FROM conversations WHERE key_id = ?',
      [keyId],
    )
  )[0]!.tokens ?? 0;

/** Reads a streamed response until its first bytes of content arrived. */
async function firstBytes(res: TestResponse): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const reader = res.body!.getReader();
  const { done } = await reader.read();
  expect(done).toBe(false);
  return reader;
}

describe('per-key limits and budgets on every lane (e2e)', () => {
  const harness = useAppWithFakeOllama(['mistral', 'llama3', { name: 'nomic-embed-text', capabilities: ['embedding'], embeddingLength: 8 }]);
  const start = (key: TestKey, env: Record<string, string> = {}) =>
    harness.start(env, { keyStores: [scopedKeys({ [KEY]: key, [OTHER_KEY]: ['chat'] })] });
  const limited = (limits: KeyLimits): TestKey => ({ scopes: ['chat'], limits });

  describe('the model allow-list', () => {
    it('refuses a model outside it with 403 naming the model, on every lane, without asking the backend or storing an exchange', async () => {
      const app = await start({ scopes: ['chat'], models: ['mistral', 'nomic-embed-text'] });
      const asKey = { key: KEY };
      const refused = [
        await app.request('/v1/chat/completions', { ...asKey, body: { model: 'llama3', messages: [{ role: 'user', content: 'hi' }] } }),
        await app.request('/v1/chat/completions', { ...asKey, body: { model: 'llama3', stream: true, messages: [{ role: 'user', content: 'hi' }] } }),
        await app.request('/v1/completions', { ...asKey, body: { model: 'llama3', prompt: 'hi' } }),
        await app.request('/v1/embeddings', { ...asKey, body: { model: 'llama3', input: 'hi' } }),
        await app.request('/api/chat', { ...asKey, body: { model: 'llama3', messages: [{ role: 'user', content: 'hi' }] } }),
        await app.request('/api/generate', { ...asKey, body: { model: 'llama3', prompt: 'hi' } }),
        await app.request('/api/embed', { ...asKey, body: { model: 'llama3', input: 'hi' } }),
        await app.request('/chat', { ...asKey, body: { prompt: 'hi', model: 'llama3' } }),
        await app.request('/chat/sse', { ...asKey, body: { prompt: 'hi', model: 'llama3' } }),
        await app.request('/v1/messages', { ...asKey, body: { model: 'llama3', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] } }),
        await app.request('/v1/responses', { ...asKey, body: { model: 'llama3', input: 'hi' } }),
      ];
      for (const res of refused) {
        expect(res.status).toBe(403);
        expect(await res.text()).toContain('This API key may not use the model llama3; its models are: mistral, nomic-embed-text');
      }
      expect(harness.fake.chatRequests()).toHaveLength(0);
      // A refusal is not an exchange: nothing was asked, so nothing counts as an error in the usage.
      expect(await queryDb(app.dbPath, 'SELECT id FROM conversations')).toEqual([]);

      const openAi = await app.request('/v1/chat/completions', { ...asKey, body: { model: 'llama3', messages: [{ role: 'user', content: 'hi' }] } });
      expect((await openAi.json()).error).toMatchObject({ code: 'model_not_allowed', param: 'model' });
      const vega = await app.request('/chat', { ...asKey, body: { prompt: 'hi', model: 'llama3' } });
      expect(await vega.json()).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        code: 'model_not_allowed',
        message: 'This API key may not use the model llama3; its models are: mistral, nomic-embed-text',
      });

      // The models on the list (`mistral` is also `mistral:latest`), and other keys, are served.
      for (const res of [
        await app.request('/v1/chat/completions', { ...asKey, body: { model: 'mistral:latest', messages: [{ role: 'user', content: 'hi' }] } }),
        await app.request('/api/embed', { ...asKey, body: { model: 'nomic-embed-text', input: 'hi' } }),
        await app.request('/v1/chat/completions', { key: OTHER_KEY, body: { model: 'llama3', messages: [{ role: 'user', content: 'hi' }] } }),
      ]) {
        expect(res.status).toBe(200);
      }
      const metrics = await (await app.request('/metrics', { key: null })).text();
      expect(metrics).toContain('vega_key_limit_refusals_total{limit="model"} 13');
    });

    it('lists only the models the key may use, in every dialect\'s model list; other keys see them all', async () => {
      const app = await start({ scopes: ['chat'], models: ['mistral', 'nomic-embed-text'] });
      // Ollama answers /api/ps with the models it has loaded: load two of them first.
      for (const model of ['mistral', 'llama3']) {
        const warm = await app.request('/api/generate', { key: OTHER_KEY, body: { model, prompt: 'warm up' } });
        expect(warm.status).toBe(200);
        await warm.text();
      }
      const names = async (path: string, key: string, pick: (body: any) => string[]) => pick(await (await app.request(path, { key })).json()).sort();
      const allowed = ['mistral:latest', 'nomic-embed-text:latest'];
      expect(await names('/models', KEY, (body) => body.items.map((model: { name: string }) => model.name))).toEqual(allowed);
      expect(await names('/v1/models', KEY, (body) => body.data.map((model: { id: string }) => model.id))).toEqual(allowed);
      expect(await names('/api/tags', KEY, (body) => body.models.map((model: { name: string }) => model.name))).toEqual(allowed);
      expect(await names('/api/ps', KEY, (body) => body.models.map((model: { name: string }) => model.name))).toEqual(['mistral:latest']);
      expect(await names('/api/tags', OTHER_KEY, (body) => body.models.map((model: { name: string }) => model.name))).toEqual(['llama3:latest', ...allowed]);
      expect(await names('/api/ps', OTHER_KEY, (body) => body.models.map((model: { name: string }) => model.name))).toEqual(['llama3:latest', 'mistral:latest']);
    });
  });

  describe('concurrent streams', () => {
    it.each(LANES)('$name: a stream holds the slot until it ends, and a call meanwhile gets 429 with Retry-After', async (lane) => {
      const app = await start(limited({ concurrentStreams: 1 }));
      harness.fake.enqueue({ kind: 'slow', delayMs: 60 });
      const first = await lane.send(app, KEY, words(30), { stream: true });
      expect(first.status).toBe(200);
      const reader = await firstBytes(first);
      // The stream holds its slot from the moment it reaches the model.
      await harness.fake.waitForRequests(1);

      for (const other of LANES) {
        const refused = await other.send(app, KEY, 'meanwhile');
        expect(refused.status).toBe(429);
        expect(refused.headers.get('retry-after')).toBe('1');
        const { message, code } = await other.error(refused);
        expect(message).toBe('This API key is at its limit of 1 concurrent streams (concurrent_streams): retry when one of its calls ends');
        if (other.name !== '/api/chat') expect(code).toBe('rate_limit_exceeded');
      }
      // Another key is not held up by this one's streams.
      expect((await lane.send(app, OTHER_KEY, 'other key')).status).toBe(200);

      while (!(await reader.read()).done);
      const after = await lane.send(app, KEY, 'after the stream');
      expect(after.status).toBe(200);
      const metrics = await (await app.request('/metrics', { key: null })).text();
      expect(metrics).toContain(`vega_key_limit_refusals_total{limit="concurrent_streams"} ${LANES.length}`);
    });

    it.each(LANES)('$name: a client that leaves mid-stream frees its slot', async (lane) => {
      const app = await start(limited({ concurrentStreams: 1 }));
      harness.fake.enqueue({ kind: 'slow', delayMs: 100 });
      const controller = new AbortController();
      const first = await lane.send(app, KEY, words(50), { stream: true, signal: controller.signal });
      await firstBytes(first);
      await harness.fake.waitForRequests(1);
      controller.abort();
      await harness.fake.waitForAbort(0);
      // The slot is freed as the generation stops; allow the server a moment to notice, generously.
      const deadline = Date.now() + 5_000;
      let res = await lane.send(app, KEY, 'next');
      while (res.status === 429 && Date.now() < deadline) {
        await res.text();
        await new Promise((resolve) => setTimeout(resolve, 50));
        res = await lane.send(app, KEY, 'next');
      }
      expect(res.status).toBe(200);
    });
  });

  describe('tokens per minute', () => {
    it.each(LANES)('$name: reserves the prompt estimate plus the answer asked for, and refuses what does not fit', async (lane) => {
      const app = await start(limited({ tokensPerMinute: 1000 }));
      // 300 words: about 600 tokens by the estimate (3 bytes a token), 300 by the fake's count, plus 100 for the answer.
      const first = await lane.send(app, KEY, words(300), { maxTokens: 100 });
      expect(first.status).toBe(200);
      const second = await lane.send(app, KEY, words(300), { maxTokens: 100 });
      expect(second.status).toBe(429);
      const retryAfter = Number(second.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(30);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const { message, code } = await lane.error(second);
      expect(message).toMatch(/^This API key is over its limit of 1000 tokens per minute \(tokens_per_minute\): \d+ used in the last minute; retry in \d+ s$/);
      if (lane.name !== '/api/chat') expect(code).toBe('rate_limit_exceeded');
      // A small call still fits the rest of the minute.
      expect((await lane.send(app, KEY, 'short', { maxTokens: 10 })).status).toBe(200);
    });
  });

  describe('budgets', () => {
    it.each(LANES)('$name: tokens per day: 429 budget_exceeded with the reset time once used up', async (lane) => {
      const app = await start(limited({ tokensPerDay: 20 }));
      expect((await lane.send(app, KEY, words(25))).status).toBe(200);
      const refused = await lane.send(app, KEY, 'one more');
      expect(refused.status).toBe(429);
      const reset = nextUtcMidnight();
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(Math.abs(Date.now() + retryAfter * 1000 - reset.getTime())).toBeLessThan(5_000);
      const { message, code } = await lane.error(refused);
      expect(message).toMatch(new RegExp(`^This API key has used its budget of 20 tokens per day \\(tokens_per_day\\): \\d+ used; it resets at ${reset.toISOString()}$`));
      if (lane.name !== '/api/chat') expect(code).toBe('budget_exceeded');
      // Other keys have budgets of their own.
      expect((await lane.send(app, OTHER_KEY, 'another key')).status).toBe(200);
    });

    it('tokens per month, on the streamed /chat too (refused before the stream starts)', async () => {
      const app = await start(limited({ tokensPerMonth: 20 }));
      expect((await app.request('/chat', { key: KEY, body: { prompt: words(25) } })).status).toBe(200);
      const refused = await app.request('/chat/sse', { key: KEY, body: { prompt: 'more' } });
      expect(refused.status).toBe(429);
      const now = new Date();
      const reset = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
      expect(await refused.json()).toEqual({
        statusCode: 429,
        error: 'Too Many Requests',
        code: 'budget_exceeded',
        message: expect.stringMatching(new RegExp(`tokens per month \\(tokens_per_month\\): \\d+ used; it resets at ${reset.toISOString()}$`)),
      });
    });

    it('model-seconds per day, charged with the backend\'s time', async () => {
      const app = await start(limited({ modelSecondsPerDay: 1 }));
      harness.fake.enqueue({ kind: 'delay_first', delayMs: 1_100 });
      expect((await app.request('/api/chat', { key: KEY, body: { model: 'mistral', stream: false, messages: [{ role: 'user', content: 'slow' }] } })).status).toBe(200);
      const [row] = await queryDb<{ model_ms: number }>(app.dbPath, 'SELECT model_ms FROM conversations WHERE key_id = ?', ['key-1']);
      expect(row!.model_ms).toBeGreaterThanOrEqual(1_000);
      const refused = await app.request('/api/chat', { key: KEY, body: { model: 'mistral', messages: [{ role: 'user', content: 'more' }] } });
      expect(refused.status).toBe(429);
      expect((await refused.json()).error).toMatch(/^This API key has used its budget of 1 model-seconds per day \(model_seconds_per_day\): 1 used; it resets at /);
      const metrics = await (await app.request('/metrics', { key: null })).text();
      expect(metrics).toContain('vega_key_limit_refusals_total{limit="model_seconds_per_day"} 1');
    });

    it('on /v1/messages and /v1/responses too, in their own error shapes', async () => {
      const app = await start(limited({ tokensPerDay: 20 }));
      const messages = (content: string) => ({ key: KEY, body: { model: 'mistral', max_tokens: 50, messages: [{ role: 'user', content }] } });
      expect((await app.request('/v1/messages', messages(words(25)))).status).toBe(200);
      const anthropic = await app.request('/v1/messages', messages('more'));
      expect(anthropic.status).toBe(429);
      expect(Number(anthropic.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await anthropic.json()).toEqual({
        type: 'error',
        error: { type: 'rate_limit_error', message: expect.stringMatching(/budget of 20 tokens per day \(tokens_per_day\): \d+ used; it resets at /) },
      });
      const responses = await app.request('/v1/responses', { key: KEY, body: { model: 'mistral', input: 'more' } });
      expect(responses.status).toBe(429);
      expect((await responses.json()).error).toMatchObject({ code: 'budget_exceeded', message: expect.stringContaining('tokens_per_day') });
    });

    it('embeddings are charged the tokens they read', async () => {
      const app = await start(limited({ tokensPerDay: 3 }));
      expect((await app.request('/api/embed', { key: KEY, body: { model: 'nomic-embed-text', input: 'one two three four' } })).status).toBe(200);
      const refused = await app.request('/v1/embeddings', { key: KEY, body: { model: 'nomic-embed-text', input: 'again' } });
      expect(refused.status).toBe(429);
      expect((await refused.json()).error.code).toBe('budget_exceeded');
    });

    it('the defaults apply to a key without limits of its own; a key\'s own 0 means none', async () => {
      const app = await harness.start(
        { KEY_DEFAULT_TOKENS_PER_DAY: '20' },
        { keyStores: [scopedKeys({ [KEY]: ['chat'], [OTHER_KEY]: limited({ tokensPerDay: 0 }) })] },
      );
      for (const key of [KEY, OTHER_KEY]) expect((await LANES[0]!.send(app, key, words(25))).status).toBe(200);
      expect((await LANES[0]!.send(app, KEY, 'more')).status).toBe(429);
      expect((await LANES[0]!.send(app, OTHER_KEY, 'more')).status).toBe(200);
    });

    it('a managed key\'s limits from /admin/keys are enforced, and a change applies to its next call', async () => {
      const app = await harness.start();
      const created = await app.request('/admin/keys', {
        body: { name: 'team', scopes: ['chat'], models: ['mistral'], limits: { tokens_per_day: 20 } },
      });
      expect(created.status).toBe(201);
      const { secret, id } = await created.json();
      expect((await LANES[0]!.send(app, secret, words(25))).status).toBe(200);
      const refused = await LANES[0]!.send(app, secret, 'more');
      expect(refused.status).toBe(429);
      expect((await refused.json()).error.code).toBe('budget_exceeded');
      const [row] = await queryDb<{ key_id: string }>(app.dbPath, 'SELECT key_id FROM conversations');
      expect(row!.key_id).toBe(id);

      expect((await app.request(`/admin/keys/${id}`, { method: 'PATCH', body: { limits: { tokens_per_day: 0 }, models: ['llama3'] } })).status).toBe(200);
      expect((await LANES[0]!.send(app, secret, 'more')).status).toBe(403);
      const llama = await fetch(`${app.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'x-api-key': secret, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'llama3', messages: [{ role: 'user', content: 'more' }] }),
      });
      expect(llama.status).toBe(200);
    });

    it('a budget survives a restart: it starts from the stored exchanges of the day', async () => {
      const data = tempDir();
      const keyStores = () => [scopedKeys({ [KEY]: limited({ tokensPerDay: 20 }) })];
      try {
        const first = await startTestApp({ OLLAMA_URL: harness.fake.url, VEGA_DATA_DIR: data.dir }, { keyStores: keyStores() });
        try {
          expect((await LANES[1]!.send(first, KEY, words(25))).status).toBe(200);
        } finally {
          await first.close();
        }
        const second = await startTestApp({ OLLAMA_URL: harness.fake.url, VEGA_DATA_DIR: data.dir }, { keyStores: keyStores() });
        try {
          const refused = await LANES[1]!.send(second, KEY, 'after the restart');
          expect(refused.status).toBe(429);
          expect((await refused.json()).error).toContain('tokens_per_day');
        } finally {
          await second.close();
        }
      } finally {
        data.remove();
      }
    });
  });
});

describe('calls racing for the last tokens of a budget (e2e)', () => {
  // Every answer takes a while and costs 30 tokens, as many as each call reserves (3 + 4 + 3 prompt + 20 asked for).
  const fake = new FakeOllama({ models: ['mistral'], tokenDelayMs: 20 });
  let app: TestApp | undefined;
  beforeAll(async () => {
    await fake.start();
  });
  afterAll(async () => {
    await app?.close();
    await fake.stop();
  });

  it('never lets the key use more than its budget plus one call\'s estimate, across lanes', async () => {
    const budget = 200;
    const estimate = 30;
    fake.setDefaultFault({ kind: 'reply', text: 'a b c d e', promptEvalCount: 10, evalCount: 20 });
    app = await startTestApp({ OLLAMA_URL: fake.url }, { keyStores: [scopedKeys({ [KEY]: { scopes: ['chat'], limits: { tokensPerDay: budget } } })] });
    const started = app;
    const prompt = 'racing!!!'; // 9 bytes: 3 tokens by the estimate
    const results = await Promise.all(Array.from({ length: 30 }, (_, index) => LANES[index % LANES.length]!.send(started, KEY, prompt, { maxTokens: 20 })));
    const statuses = results.map((res) => res.status);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(0);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(0);
    expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
    await Promise.all(results.map((res) => res.text()));
    const used = await storedTokens(started.dbPath, 'key-1');
    expect(used).toBeGreaterThanOrEqual(budget);
    expect(used).toBeLessThanOrEqual(budget + estimate);
  });
});
