import { FakeOpenAi } from '../support/fake-openai';
import { queryDb } from '../support/sqlite';
import { startTestApp, TestApp, useAppWithFakeOllama } from '../support/test-app';

const lines = (text: string) => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

/** Errors under `/api/` (Ollama's native routes) come in Ollama's `{"error": "…"}` shape. */
describe('Ollama error dialect', () => {
  const env = useAppWithFakeOllama();
  const fake = env.fake;
  let t: TestApp;

  it('answers an unknown /api/ route with 404 {"error"} as JSON; /v1 and Vega routes keep their shapes', async () => {
    t = await env.start();
    const res = await t.request('/api/nothing-here');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ error: 'Cannot GET /api/nothing-here' });
    expect(await (await t.request('/v1/nothing-here')).json()).toMatchObject({ error: { message: 'Cannot GET /v1/nothing-here' } });
    expect(await (await t.request('/nothing-here')).json()).toMatchObject({ statusCode: 404, message: 'Cannot GET /nothing-here' });
  });

  it('429 past RATE_LIMIT_PER_MINUTE, as {"error"} with Retry-After', async () => {
    t = await env.start({ RATE_LIMIT_PER_MINUTE: '1' });
    const body = { model: 'mistral', messages: [{ role: 'user', content: 'x' }], stream: false };
    expect((await t.request('/api/chat', { body })).status).toBe(200);
    const res = await t.request('/api/chat', { body });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await res.json()).toEqual({ error: expect.stringMatching(/.+/) });
  });

  it('nothing a client sends is a 5xx: every odd body is a 4xx {"error": "…"}', async () => {
    t = await env.start();
    const msg = [{ role: 'user', content: 'x' }];
    const bodies: [string, unknown][] = [
      ['/api/chat', null],
      ['/api/chat', 'text'],
      ['/api/chat', 42],
      ['/api/chat', { model: 5, messages: msg }],
      ['/api/chat', { model: 'mistral', messages: [null] }],
      ['/api/chat', { model: 'mistral', messages: [{ role: 'wizard', content: 'x' }] }],
      ['/api/chat', { model: 'mistral', messages: [{ role: 'user', content: 'x', images: [5] }] }],
      ['/api/chat', { model: 'mistral', messages: [{ role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: 'str' } }] }] }],
      ['/api/chat', { model: 'mistral', messages: [{ role: 'assistant', content: '', tool_calls: [{ function: {} }] }] }],
      ['/api/chat', { model: 'mistral', messages: msg, tools: [{}] }],
      ['/api/chat', { model: 'mistral', messages: msg, tools: [{ type: 'function', function: { name: 5 } }] }],
      ['/api/chat', { model: 'mistral', messages: msg, tools: 'all' }],
      ['/api/chat', { model: 'mistral', messages: msg, options: { temperature: 'hot' } }],
      ['/api/chat', { model: 'mistral', messages: msg, options: { num_ctx: 1.5 } }],
      ['/api/chat', { model: 'mistral', messages: msg, options: { stop: 'x' } }],
      ['/api/chat', { model: 'mistral', messages: msg, options: [] }],
      ['/api/chat', { model: 'mistral', messages: msg, keep_alive: {} }],
      ['/api/chat', { model: 'mistral', messages: msg, keep_alive: 'forever' }],
      ['/api/chat', { model: 'mistral', messages: msg, think: 3 }],
      ['/api/chat', { model: 'mistral', messages: msg, format: 5 }],
      ['/api/chat', { model: 'mistral', messages: msg, top_logprobs: 1.5 }],
      ['/api/chat', { model: 'mistral', messages: [{ role: 'user', content: 'x', images: ['iVBORw0KGgo='] }] }],
      ['/api/generate', { model: 'mistral', prompt: 'x', context: ['a'] }],
      ['/api/generate', { model: 'mistral', prompt: 'x', suffix: 1 }],
      ['/api/generate', { model: 'mistral', prompt: 'x', raw: 'yes' }],
      ['/api/generate', { model: 'mistral', prompt: 'x', images: 'abc' }],
      ['/api/generate', { model: 'mistral', prompt: 'x', suffix: 'y' }],
      ['/api/generate', { prompt: 'x' }],
    ];
    for (const [path, body] of bodies) {
      const res = await t.request(path, { body: JSON.stringify(body) });
      const answer = { path, body, status: res.status, json: await res.json() };
      expect(answer).toEqual({ path, body, status: expect.any(Number), json: { error: expect.any(String) } });
      expect(answer.status >= 400 && answer.status < 500).toBe(true);
    }
    for (const raw of ['{"model":', '', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]']) {
      const res = await t.request('/api/chat', { body: raw, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: expect.any(String) });
    }
    // Ollama reads any body as JSON whatever its content type (its docs' `curl -d` sends a form type).
    const plain = await t.request('/api/chat', { body: '{}', headers: { 'content-type': 'text/plain' } });
    expect(plain.status).toBe(400);
    expect(await plain.json()).toEqual({ error: 'model is required' });
    // A fill-in-the-middle to a model without `insert` is Ollama's own 400, passed on.
    const fim = await t.request('/api/generate', { body: { model: 'mistral', prompt: 'x', suffix: 'y' } });
    expect(fim.status).toBe(400);
    expect(await fim.json()).toEqual({ error: 'registry.ollama.ai/library/mistral:latest does not support insert' });
  });

  it('a backend failure before the first line keeps its status; one after it is a last {"error"} line', async () => {
    t = await env.start({ LLM_MAX_RETRIES: '0' });
    fake.enqueue({ kind: 'status', status: 500 });
    const early = await t.request('/api/chat', { body: { model: 'mistral', messages: [{ role: 'user', content: 'x' }] } });
    expect(early.status).toBe(502);
    // Ollama's own words, as a client of Ollama would have read them (the status is Vega's: a failing backend).
    expect(await early.json()).toEqual({ error: 'internal server error' });

    fake.enqueue({ kind: 'error_line', afterChunks: 2, message: 'runner crashed' });
    const late = await t.request('/api/chat', { body: { model: 'mistral', messages: [{ role: 'user', content: 'one two three four' }] } });
    expect(late.status).toBe(200);
    expect(late.headers.get('content-type')).toBe('application/x-ndjson');
    const got = lines(await late.text());
    expect(got.at(-1)).toEqual({ error: 'runner crashed' });
    expect(got.slice(0, -1).map((line) => (line.message as { content: string }).content).join('')).toBe('Echo: one');
    const rows = await queryDb<{ status: string; source: string }>(t.dbPath, 'SELECT status, source FROM conversations ORDER BY id');
    expect(rows).toEqual([
      { status: 'error', source: 'ollama' },
      { status: 'error', source: 'ollama' },
    ]);
  });

  it('the response cache serves only a reproducible request (options.seed, or temperature 0)', async () => {
    t = await env.start();
    const ask = (options?: Record<string, unknown>) =>
      t.request('/api/chat', { body: { model: 'mistral', stream: false, messages: [{ role: 'user', content: 'same' }], ...(options ? { options } : {}) } });
    await ask();
    await ask();
    expect(fake.chatRequests()).toHaveLength(2);
    await ask({ seed: 7 });
    expect((await (await ask({ seed: 7 })).json()).message.content).toBe('Echo: same');
    await ask({ temperature: 0 });
    await ask({ temperature: 0 });
    expect(fake.chatRequests()).toHaveLength(4);
    const rows = await queryDb<{ status: string }>(t.dbPath, 'SELECT status FROM conversations ORDER BY id');
    expect(rows.map((row) => row.status)).toEqual(['ok', 'ok', 'ok', 'cached', 'ok', 'cached']);
    // generate follows the same rule
    const gen = (options?: Record<string, unknown>) => t.request('/api/generate', { body: { model: 'mistral', prompt: 'p', stream: false, ...(options ? { options } : {}) } });
    await gen();
    await gen();
    await gen({ seed: 1 });
    await gen({ seed: 1 });
    expect(fake.requests.filter((request) => request.path === '/api/generate')).toHaveLength(3);
  });
});

describe('/api/generate on an OpenAI-compatible backend', () => {
  const fake = new FakeOpenAi({ models: ['mistral'] });
  let t: TestApp | undefined;
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  afterEach(async () => {
    await t?.close();
    fake.reset();
  });

  it('refuses what the server cannot do (system, template, context, images) with 400 naming the field; a plain prompt works', async () => {
    t = await startTestApp({ LLM_BACKEND: 'openai', OPENAI_BASE_URL: fake.url, OLLAMA_URL: 'http://127.0.0.1:9' });
    const res = await t.request('/api/generate', { body: { model: 'mistral', prompt: 'x', system: 'be brief', stream: false } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'system: an OpenAI-compatible server completes the prompt as given (no template, system prompt or token context)',
    });
    const context = await t.request('/api/generate', { body: { model: 'mistral', prompt: 'x', context: [1, 2], stream: false } });
    expect((await context.json()).error).toMatch(/^context: /);
    const ok = await t.request('/api/generate', { body: { model: 'mistral', prompt: 'hello', stream: false } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ model: 'mistral', done: true, done_reason: 'stop', response: expect.any(String) });
  });
});
