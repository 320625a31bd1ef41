import { createServer } from 'node:net';
import { TargetPool } from '../../src/core/llm/routing/target-pool';
import { FakeOpenAi } from '../support/fake-openai';
import { openSse } from '../support/sse-client';
import { queryDb } from '../support/sqlite';
import { startTestApp, TEST_API_KEY, TestApp } from '../support/test-app';
import { VegaProcess } from '../support/vega-process';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const UPSTREAM_KEY = 'sk-upstream-secret-0123456789';

describe('LLM_BACKEND=openai against an OpenAI-compatible server', () => {
  const fake = new FakeOpenAi({ models: ['mistral', 'qwen2.5-7b-instruct'] });
  let t: TestApp | undefined;

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  afterEach(async () => {
    await t?.close();
    t = undefined;
    fake.reset();
  });

  const start = async (env: Record<string, string> = {}): Promise<TestApp> => {
    t = await startTestApp({ LLM_BACKEND: 'openai', OPENAI_BASE_URL: fake.url, OLLAMA_URL: 'http://127.0.0.1:9', ...env });
    return t;
  };
  const chat = async (app: TestApp, body: Record<string, unknown>) => {
    const res = await app.request('/chat', { body });
    return { status: res.status, headers: res.headers, body: await res.json() };
  };
  const statuses = async (app: TestApp) =>
    (await queryDb<{ status: string }>(app.dbPath, 'SELECT status FROM conversations ORDER BY id')).map((row) => row.status);

  it('answers /chat through /chat/completions with stream, include_usage, mapped options and the bearer token', async () => {
    fake.configure({ apiKey: UPSTREAM_KEY });
    const app = await start({ OPENAI_API_KEY: UPSTREAM_KEY, GEN_TEMPERATURE: '0.3' });
    const res = await chat(app, { prompt: 'hello there' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ response: 'Echo: hello there', model: 'mistral', cached: false, usage: { prompt_tokens: 7, completion_tokens: 3 } });
    const [request] = fake.chatRequests();
    expect(request.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(request.body).toMatchObject({
      model: 'mistral',
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.3,
      top_p: 0.9,
      top_k: 40,
      repeat_penalty: 1.1,
      messages: expect.arrayContaining([{ role: 'user', content: 'hello there' }]),
    });
    expect(request.body.options).toBeUndefined();
    expect(await statuses(app)).toEqual(['ok']);
  });

  it('streams /chat/sse token by token as the server sends them, then done', async () => {
    const app = await start();
    fake.enqueue({ kind: 'slow', delayMs: 20 });
    const sse = await openSse(`${app.url}/chat/sse`, { headers: { 'x-api-key': TEST_API_KEY }, body: { prompt: 'stream me please' } });
    expect(sse.status).toBe(200);
    const events = await sse.all();
    const tokens = events.filter((event) => event.event === 'token').map((event) => JSON.parse(event.data).text as string);
    expect(tokens.join('')).toBe('Echo: stream me please');
    expect(tokens.length).toBeGreaterThan(1);
    expect(events.at(-1)!.event).toBe('done');
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ usage: { prompt_tokens: 7, completion_tokens: 4 } });
  });

  it("serves Vega's own /v1/chat/completions in front of it (streamed with usage, and not streamed)", async () => {
    const app = await start();
    const streamed = await openSse(`${app.url}/v1/chat/completions`, {
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
      body: { model: 'mistral', messages: [{ role: 'user', content: 'two words' }], stream: true, stream_options: { include_usage: true } },
    });
    expect(streamed.status).toBe(200);
    const frames = (await streamed.all()).map((event) => event.data);
    expect(frames.at(-1)).toBe('[DONE]');
    const chunks = frames.slice(0, -1).map((frame) => JSON.parse(frame));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('Echo: two words');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 3 } });

    const res = await app.request('/v1/chat/completions', {
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
      key: null,
      body: { model: 'mistral', messages: [{ role: 'user', content: 'cut me short please' }], max_tokens: 2 },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.choices[0]).toMatchObject({ message: { role: 'assistant', content: 'Echo: cut ' }, finish_reason: 'length' });
    expect(fake.chatRequests()[1].body.max_tokens).toBe(2);
  });

  it('lists the served models on /models and /v1/models, and /readyz reports the openai backend', async () => {
    const app = await start();
    const models = await (await app.request('/models')).json();
    expect(JSON.stringify(models)).toContain('qwen2.5-7b-instruct');
    const v1 = await (await app.request('/v1/models', { key: null, headers: { authorization: `Bearer ${TEST_API_KEY}` } })).json();
    expect(v1.data.map((model: { id: string }) => model.id)).toEqual(expect.arrayContaining(['mistral', 'qwen2.5-7b-instruct']));
    let ready = await app.request('/readyz', { key: null });
    for (let attempt = 0; attempt < 50 && ready.status !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      ready = await app.request('/readyz', { key: null });
    }
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', details: { openai: { status: 'up', version: 'openai-compatible', breaker: 'closed' } } });
  });

  it('reports the backend in /admin/status with the bearer token redacted', async () => {
    const app = await start({ OPENAI_API_KEY: UPSTREAM_KEY });
    const res = await app.request('/admin/status');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(UPSTREAM_KEY);
    const status = JSON.parse(text);
    expect(status.backend).toEqual({ kind: 'openai', urls: [fake.url], model: 'mistral' });
    expect(status.config.llm.apiKey).toBe('[redacted]');
  });

  it('answers 404 naming an unknown model and what the server lists, and stores the error', async () => {
    const app = await start();
    const res = await chat(app, { prompt: 'hi', model: 'nope' });
    expect(res.status).toBe(404);
    expect(res.body.message).toMatch(/^model "nope" not found on any model server; available: \S/);
    expect(await statuses(app)).toEqual(['error']);
  });

  it('reports a MODEL_NAME the server does not list: 404 with the fix for a chat naming no model, /readyz degraded', async () => {
    const app = await start({ MODEL_NAME: 'llama3', HEALTH_PROBE_SECONDS: '60' });
    const fix = 'model "llama3" is not on the backend; load it on the server or set MODEL_NAME to one of: mistral, qwen2.5-7b-instruct';
    const res = await chat(app, { prompt: 'hi' });
    expect(res.status).toBe(404);
    expect(res.body.message).toBe(fix);
    // The first probe started with the app; wait for its answer.
    let ready = await app.request('/readyz', { key: null });
    for (let i = 0; i < 100 && ready.status !== 200; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      ready = await app.request('/readyz', { key: null });
    }
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'degraded',
      degraded: true,
      details: { openai: { status: 'degraded', reason: 'model_missing', model: 'llama3', models: ['mistral', 'qwen2.5-7b-instruct'], message: fix } },
    });
  });

  it('retries 5xx and recovers, and gives up with 502 after LLM_MAX_RETRIES', async () => {
    const app = await start({ LLM_MAX_RETRIES: '2' });
    fake.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    expect((await chat(app, { prompt: 'hi' })).status).toBe(200);
    expect(fake.chatRequests()).toHaveLength(3);

    fake.setDefaultFault({ kind: 'status', status: 500, message: 'boom' });
    const failed = await chat(app, { prompt: 'again' });
    expect(failed.status).toBe(502);
    expect(failed.body.message).toBe('The OpenAI-compatible server failed (HTTP 500): boom');
    expect(fake.chatRequests()).toHaveLength(6);
  });

  it('opens the circuit breaker after BREAKER_FAIL_THRESHOLD failures and refuses without calling the server', async () => {
    const app = await start({ LLM_MAX_RETRIES: '0', BREAKER_FAIL_THRESHOLD: '2', CACHE_TTL_SECONDS: '0' });
    fake.setDefaultFault({ kind: 'status', status: 500 });
    expect((await chat(app, { prompt: 'one' })).status).toBe(502);
    expect((await chat(app, { prompt: 'two' })).status).toBe(502);
    const refused = await chat(app, { prompt: 'three' });
    expect(refused.status).toBe(503);
    expect(refused.body.message).toMatch(/circuit breaker open/);
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('does not retry a 400 and passes its message on; a 401 says to check OPENAI_API_KEY', async () => {
    const app = await start();
    fake.enqueue({ kind: 'status', status: 400, message: 'temperature must be <= 2' });
    const rejected = await chat(app, { prompt: 'hi' });
    expect(rejected.status).toBe(400);
    expect(rejected.body.message).toBe('The OpenAI-compatible server rejected the request: temperature must be <= 2');
    expect(fake.chatRequests()).toHaveLength(1);

    fake.configure({ apiKey: UPSTREAM_KEY });
    const denied = await chat(app, { prompt: 'hi' });
    expect(denied.status).toBe(502);
    expect(denied.body.message).toBe(
      "The OpenAI-compatible server refused Vega's credentials (HTTP 401; check OPENAI_API_KEY): Incorrect API key provided.",
    );
  });

  it('answers 503 when the server is not running, and fails over to the next OPENAI_BASE_URL host', async () => {
    const port = await closedPort();
    const down = await start({ OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, LLM_MAX_RETRIES: '0' });
    const res = await chat(down, { prompt: 'hi' });
    expect(res.status).toBe(503);
    expect(res.body.message).toMatch(/^The OpenAI-compatible server is unreachable at http:\/\/127\.0\.0\.1:\d+\/v1 \(connection refused\); is it running\?$/);
    await down.close();
    const failover = await start({ OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1,${fake.url}`, LLM_MAX_RETRIES: '0' });
    expect((await chat(failover, { prompt: 'hi' })).status).toBe(200);
  });

  it('answers 504 when no token comes within LLM_FIRST_TOKEN_TIMEOUT_SEC, and cancels the upstream request', async () => {
    const app = await start({ LLM_FIRST_TOKEN_TIMEOUT_SEC: '0.2', LLM_MAX_RETRIES: '0' });
    fake.enqueue({ kind: 'hang' });
    const res = await chat(app, { prompt: 'hi' });
    expect(res.status).toBe(504);
    expect(res.body.message).toBe('The model sent no token within 0.2 s');
    await fake.waitForAbort(0);
  });

  it('cancels the upstream stream when the client disconnects', async () => {
    const app = await start();
    fake.enqueue({ kind: 'slow', delayMs: 200 });
    const sse = await openSse(`${app.url}/chat/sse`, { headers: { 'x-api-key': TEST_API_KEY }, body: { prompt: 'a long answer to stop early' } });
    for await (const event of sse.events) if (event.event === 'token') break;
    sse.close();
    await fake.waitForAbort(0, 3000);
  });

  it('retries a stream dropped before any token; a malformed frame or an error frame is a 502', async () => {
    const app = await start({ LLM_MAX_RETRIES: '1' });
    fake.enqueue({ kind: 'drop', afterChunks: 0 });
    expect((await chat(app, { prompt: 'hi' })).status).toBe(200);
    expect(fake.chatRequests()).toHaveLength(2);

    fake.enqueue({ kind: 'malformed', afterChunks: 0 });
    const malformed = await chat(app, { prompt: 'malformed' });
    expect(malformed.status).toBe(502);
    expect(malformed.body.message).toMatch(/^Malformed event from the OpenAI-compatible server: /);

    fake.enqueue({ kind: 'error_frame', afterChunks: 0, message: 'CUDA out of memory' });
    const errored = await chat(app, { prompt: 'error frame' });
    expect(errored.status).toBe(502);
    expect(errored.body.message).toBe('The OpenAI-compatible server reported an error mid-stream: CUDA out of memory');
  });

  it('stops an event line longer than BACKEND_MAX_LINE_BYTES with a 502 naming the limit, and stores the error', async () => {
    const app = await start({ LLM_MAX_RETRIES: '0', LLM_FIRST_TOKEN_TIMEOUT_SEC: '10' });
    fake.enqueue({ kind: 'huge_line', bytes: 16 * 1024 * 1024 });
    const res = await chat(app, { prompt: 'hi' });
    expect(res.status).toBe(502);
    expect(res.body.message).toBe(
      'The OpenAI-compatible server sent a line longer than 1048576 bytes (the BACKEND_MAX_LINE_BYTES limit); the stream was stopped',
    );
    await fake.waitForAbort(0);
    expect(await statuses(app)).toEqual(['error']);
  });

  it('answers 502 "closed the connection before answering" when the server takes the request and hangs up', async () => {
    const app = await start({ LLM_MAX_RETRIES: '0' });
    fake.enqueue({ kind: 'close_before_answer' });
    const res = await chat(app, { prompt: 'hi' });
    expect(res.status).toBe(502);
    expect(res.body.message).toBe(`The OpenAI-compatible server at ${fake.url} closed the connection before answering`);
  });

  it('fails a stream that ends before the answer is complete (retryable), after LLM_MAX_RETRIES', async () => {
    const app = await start({ LLM_MAX_RETRIES: '1' });
    fake.setDefaultFault({ kind: 'end_early', afterChunks: 0 });
    const res = await chat(app, { prompt: 'hi' });
    expect(res.status).toBe(502);
    expect(res.body.message).toBe('The OpenAI-compatible server closed the stream before the answer was complete');
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('reads the llama.cpp style (usage in the finish chunk), no [DONE], CRLF and comment lines alike', async () => {
    fake.configure({ style: 'llamacpp', sendDone: false, crlf: true, comments: true });
    const app = await start();
    const res = await chat(app, { prompt: 'same answer' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ response: 'Echo: same answer', usage: { prompt_tokens: 7, completion_tokens: 3 } });
  });

  it('embeds through /embeddings in input order (research re-ranking)', async () => {
    const app = await start();
    const { backend } = app.app.get(TargetPool).targets[0];
    expect(backend.kind).toBe('openai');
    const { embeddings: vectors } = await backend.embed({ model: 'mistral', input: ['a', 'b', 'c'] });
    expect(vectors).toHaveLength(3);
    const { embeddings: single } = await backend.embed({ model: 'mistral', input: ['b'] });
    expect(vectors[1]).toEqual(single[0]);
    const embeddings = fake.requests.filter((request) => request.path === '/v1/embeddings');
    expect(embeddings.map((request) => request.body)).toEqual([
      { model: 'mistral', input: ['a', 'b', 'c'], encoding_format: 'float' },
      { model: 'mistral', input: ['b'], encoding_format: 'float' },
    ]);
  });
});

describe('LLM_BACKEND=openai in the real process', () => {
  const fake = new FakeOpenAi({ models: ['mistral'], apiKey: UPSTREAM_KEY });
  const vega = new VegaProcess();
  beforeAll(() => fake.start());
  afterAll(async () => {
    await vega.dispose();
    await fake.stop();
  });

  it('sends the bearer token upstream and never writes it to the log, even at LOG_LEVEL=debug', async () => {
    await vega.start({ LLM_BACKEND: 'openai', OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: UPSTREAM_KEY, LOG_LEVEL: 'debug', HEALTH_PROBE_SECONDS: '60' });
    const res = await fetch(`${vega.url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': vega.apiKey },
      body: JSON.stringify({ prompt: 'hello' }),
    });
    expect(res.status).toBe(200);
    expect(fake.chatRequests()[0].headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    const status = await fetch(`${vega.url}/admin/status`, { headers: { 'x-api-key': vega.apiKey } });
    expect(await status.text()).not.toContain(UPSTREAM_KEY);
    vega.signal('SIGTERM');
    await vega.exited();
    expect(vega.logLines().length).toBeGreaterThan(0);
    expect({ found: vega.stdout.includes(UPSTREAM_KEY) || vega.stderr.includes(UPSTREAM_KEY) }).toEqual({ found: false });
  });

  it('refuses to start without OPENAI_BASE_URL, with one clear line', async () => {
    const bad = new VegaProcess();
    try {
      await expect(bad.start({ LLM_BACKEND: 'openai' }, 10_000)).rejects.toThrow(/OPENAI_BASE_URL must be set when LLM_BACKEND is openai/);
      expect((await bad.exited()).code).not.toBe(0);
    } finally {
      await bad.dispose();
    }
  });
});
