import { createServer } from 'node:net';
import { openSse, SseConnection } from '../support/sse-client';
import { queryDb } from '../support/sqlite';
import { FakeOllama } from '../support/fake-ollama';
import { startTestApp, TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A loopback server that accepts connections and closes each one as soon as the request arrives. */
async function hangUpServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((socket) => socket.once('data', () => socket.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('POST /chat — backend failures', () => {
  const env = useAppWithFakeOllama(['mistral']);
  const fake = env.fake;
  let t: TestApp;

  const start = async (vars: Record<string, string> = {}) => {
    t = await env.start(vars);
    return t;
  };
  const chat = async (prompt = 'hi', extra: Record<string, unknown> = {}) => {
    const res = await t.request('/chat', { body: { prompt, ...extra } });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
  };
  const statuses = async () =>
    (await queryDb<{ status: string }>(t.dbPath, 'SELECT status FROM conversations ORDER BY id')).map((r) => r.status);

  it('answers 404 naming the unknown model and what the model servers have, and stores the error', async () => {
    await start();
    const res = await chat('hi', { model: 'nope' });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ statusCode: 404, error: 'Not Found', message: expect.stringMatching(/^model "nope" not found on any model server; available: \S/) });
    expect(await statuses()).toEqual(['error']);
  });

  it('retries a 5xx with backoff and succeeds when the backend recovers', async () => {
    await start({ LLM_MAX_RETRIES: '2' });
    fake.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    const res = await chat();
    expect(res.status).toBe(200);
    expect(fake.chatRequests()).toHaveLength(3);
  });

  it('retries a 429 as well', async () => {
    await start({ LLM_MAX_RETRIES: '1' });
    fake.enqueue({ kind: 'status', status: 429 });
    expect((await chat()).status).toBe(200);
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('gives up after LLM_MAX_RETRIES and answers 502 for a backend 500', async () => {
    await start({ LLM_MAX_RETRIES: '2' });
    fake.setDefaultFault({ kind: 'status', status: 500, message: 'boom' });
    const res = await chat();
    expect(res.status).toBe(502);
    expect(res.body.message).toBe('Ollama error (HTTP 500): boom');
    expect(fake.chatRequests()).toHaveLength(3);
    expect(await statuses()).toEqual(['error']);
  });

  it('tries a busy backend again rather than answering its 503, whatever LLM_MAX_RETRIES says', async () => {
    await start({ LLM_MAX_RETRIES: '0' });
    fake.enqueue({ kind: 'status', status: 503 });
    expect((await chat()).status).toBe(200);
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('answers 503 with Retry-After when the backend stays busy for QUEUE_MAX_WAIT_SEC', async () => {
    await start({ LLM_MAX_RETRIES: '0', QUEUE_MAX_WAIT_SEC: '0.5' });
    fake.setDefaultFault({ kind: 'status', status: 503 });
    const res = await chat();
    expect(res.status).toBe(503);
    expect(res.body.message).toMatch(/^Every model server for 'mistral' stayed busy for \d+ s while this request waited in the queue; retry in 1 s$/);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(fake.chatRequests().length).toBeGreaterThan(1);
  });

  it('does not retry a 400 from the backend and passes its message on', async () => {
    await start();
    fake.enqueue({ kind: 'status', status: 400, message: 'invalid options' });
    const res = await chat();
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('Ollama rejected the request: invalid options');
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('answers 503 quickly with a clear message when Ollama is not running', async () => {
    const port = await closedPort();
    await start({ OLLAMA_URL: `http://127.0.0.1:${port}`, LLM_MAX_RETRIES: '2' });
    const started = Date.now();
    const res = await chat();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.status).toBe(503);
    expect(res.body.message).toMatch(/^Ollama is unreachable at http:\/\/127\.0\.0\.1:\d+ \(connection refused\); is it running\?$/);
    expect(res.headers.get('retry-after')).toBe('5');
  });

  it('fails over to the next OLLAMA_URL host when the first refuses connections', async () => {
    const port = await closedPort();
    await start({ OLLAMA_URL: `http://127.0.0.1:${port},${fake.url}`, LLM_MAX_RETRIES: '0' });
    expect((await chat()).status).toBe(200);
  });

  it('answers 504 when no token arrives within LLM_FIRST_TOKEN_TIMEOUT_SEC, and cancels upstream', async () => {
    await start({ LLM_FIRST_TOKEN_TIMEOUT_SEC: '0.2' });
    fake.enqueue({ kind: 'hang' });
    const res = await chat();
    expect(res.status).toBe(504);
    expect(res.body.message).toBe('The model sent no token within 0.2 s');
    await fake.waitForAbort(0);
    expect(await statuses()).toEqual(['error']);
  });

  it('answers 504 when headers came but no token did', async () => {
    await start({ LLM_FIRST_TOKEN_TIMEOUT_SEC: '0.2' });
    fake.enqueue({ kind: 'hang_after_headers' });
    expect((await chat()).status).toBe(504);
  });

  it('answers 504 when the stream stalls longer than LLM_IDLE_TIMEOUT_SEC', async () => {
    await start({ LLM_IDLE_TIMEOUT_SEC: '0.2' });
    fake.enqueue({ kind: 'stall_after', afterChunks: 1 });
    const res = await chat('a b c d');
    expect(res.status).toBe(504);
    expect(res.body.message).toBe('The model stalled: no data for 0.2 s');
  });

  it('applies the idle limit from the first token on, even when it is shorter than the first-token limit', async () => {
    await start({ LLM_FIRST_TOKEN_TIMEOUT_SEC: '20', LLM_IDLE_TIMEOUT_SEC: '0.2' });
    fake.enqueue({ kind: 'stall_after', afterChunks: 1 });
    const started = Date.now();
    const res = await chat('a b c d');
    expect(res.status).toBe(504);
    expect(res.body.message).toBe('The model stalled: no data for 0.2 s');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('lets a stream run past the idle limit as long as no gap between chunks reaches it', async () => {
    // 8 chunks 100 ms apart: 0.8 s in all, every gap well under the 0.3 s idle limit.
    await start({ LLM_IDLE_TIMEOUT_SEC: '0.3', LLM_FIRST_TOKEN_TIMEOUT_SEC: '0.3' });
    fake.enqueue({ kind: 'slow', delayMs: 100 });
    const res = await chat('one two three four five six seven eight');
    expect(res.status).toBe(200);
    expect(await statuses()).toEqual(['ok']);
  });

  it('answers 504 when the whole answer takes longer than LLM_TIMEOUT_SEC', async () => {
    await start({ LLM_TIMEOUT_SEC: '0.3' });
    fake.enqueue({ kind: 'slow', delayMs: 100 });
    const res = await chat('many words in this prompt to make it slow');
    expect(res.status).toBe(504);
    expect(res.body.message).toBe('The model did not finish within 0.3 s');
  });

  it('answers 502 for an error line in the middle of the stream', async () => {
    await start();
    fake.enqueue({ kind: 'error_line', afterChunks: 1, message: 'out of memory' });
    const res = await chat('a b c');
    expect(res.status).toBe(502);
    expect(res.body.message).toBe('Ollama error: out of memory');
  });

  it('answers 502 for a malformed line', async () => {
    await start();
    fake.enqueue({ kind: 'malformed', afterChunks: 1 });
    const res = await chat('a b c');
    expect(res.status).toBe(502);
    expect(res.body.message).toMatch(/^Malformed line from the backend/);
  });

  it('stops a line longer than BACKEND_MAX_LINE_BYTES: 502 naming the limit, upstream closed, error stored', async () => {
    // 16 MB without a newline; the first-token limit only bounds the test if the line is not stopped.
    await start({ LLM_MAX_RETRIES: '0', LLM_FIRST_TOKEN_TIMEOUT_SEC: '10' });
    fake.enqueue({ kind: 'huge_line', bytes: 16 * 1024 * 1024 });
    const res = await chat();
    expect(res.status).toBe(502);
    expect(res.body.message).toBe('Ollama sent a line longer than 1048576 bytes (the BACKEND_MAX_LINE_BYTES limit); the stream was stopped');
    await fake.waitForAbort(0);
    expect(await statuses()).toEqual(['error']);
  });

  it('takes the line limit from BACKEND_MAX_LINE_BYTES', async () => {
    await start({ LLM_MAX_RETRIES: '0', LLM_FIRST_TOKEN_TIMEOUT_SEC: '10', BACKEND_MAX_LINE_BYTES: '4096' });
    expect((await chat('a short answer fits')).status).toBe(200);
    fake.enqueue({ kind: 'huge_line', bytes: 64 * 1024 });
    const res = await chat();
    expect(res.status).toBe(502);
    expect(res.body.message).toBe('Ollama sent a line longer than 4096 bytes (the BACKEND_MAX_LINE_BYTES limit); the stream was stopped');
  });

  it('answers 502 "closed the connection before answering" when Ollama accepts the request and hangs up, not "unreachable"', async () => {
    await start({ LLM_MAX_RETRIES: '0' });
    fake.enqueue({ kind: 'close_before_answer' });
    const res = await chat();
    expect(res.status).toBe(502);
    expect(res.body.message).toBe(`Ollama at ${fake.url} closed the connection before answering`);
    expect(await statuses()).toEqual(['error']);
  });

  it('answers 502 "closed the connection before answering" when Ollama sends headers and hangs up', async () => {
    await start({ LLM_MAX_RETRIES: '0' });
    fake.enqueue({ kind: 'close_after_headers' });
    const res = await chat();
    expect(res.status).toBe(502);
    expect(res.body.message).toBe(`Ollama at ${fake.url} closed the connection before answering`);
  });

  it('says "closed the connection before answering" for a host that accepts TCP and hangs up, on chat and on /models', async () => {
    const host = await hangUpServer();
    try {
      await start({ OLLAMA_URL: host.url, LLM_MAX_RETRIES: '0' });
      const res = await chat();
      expect(res.status).toBe(502);
      expect(res.body.message).toBe(`Ollama at ${host.url} closed the connection before answering`);
      const models = await t.request('/models');
      expect(models.status).toBe(502);
      expect((await models.json()).message).toBe(`Ollama at ${host.url} closed the connection before answering`);
    } finally {
      await host.close();
    }
  });

  it('retries a connection closed before answering, like other transient failures', async () => {
    await start({ LLM_MAX_RETRIES: '1' });
    fake.enqueue({ kind: 'close_before_answer' });
    expect((await chat()).status).toBe(200);
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('takes the pool size from BACKEND_MAX_CONNECTIONS; a stream that times out waiting for a connection says so', async () => {
    await start({ BACKEND_MAX_CONNECTIONS: '2', LLM_FIRST_TOKEN_TIMEOUT_SEC: '1', LLM_IDLE_TIMEOUT_SEC: '60', LLM_MAX_RETRIES: '0' });
    // Two streams that send one token and then hold their connection open.
    fake.enqueue({ kind: 'stall_after', afterChunks: 1 }, { kind: 'stall_after', afterChunks: 1 });
    const open = () => openSse(`${t.url}/chat/sse`, { headers: { 'x-api-key': TEST_API_KEY }, body: { prompt: 'a b c' } });
    const firstToken = async (sse: SseConnection) => {
      for await (const event of sse.events) if (event.event === 'token') return;
    };
    const held = [await open(), await open()];
    try {
      await Promise.all(held.map(firstToken));
      const third = await open();
      const events = await third.all();
      const error = events.find((event) => event.event === 'error');
      expect(error && JSON.parse(error.data)).toEqual({
        status: 504,
        message:
          'The model sent no token within 1 s; the request was still waiting for a free connection to the backend (all 2 in use; BACKEND_MAX_CONNECTIONS)',
      });
      expect(fake.chatRequests()).toHaveLength(2);
    } finally {
      for (const sse of held) sse.close();
    }
  });

  it('does not retry once tokens have been received, and answers 502 when the stream drops', async () => {
    await start({ LLM_MAX_RETRIES: '2' });
    fake.enqueue({ kind: 'drop', afterChunks: 1 });
    const res = await chat('a b c');
    expect(res.status).toBe(502);
    expect(res.body.message).toMatch(/^Connection to Ollama was lost mid-stream/);
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('retries a stream dropped before any token', async () => {
    await start({ LLM_MAX_RETRIES: '1' });
    fake.enqueue({ kind: 'drop', afterChunks: 0 });
    expect((await chat()).status).toBe(200);
    expect(fake.chatRequests()).toHaveLength(2);
  });

  describe('circuit breaker', () => {
    it('opens after BREAKER_FAIL_THRESHOLD failures, half-opens after the reset time, and closes on a good probe', async () => {
      await start({ BREAKER_FAIL_THRESHOLD: '2', BREAKER_RESET_SECONDS: '0.5', LLM_MAX_RETRIES: '0', CACHE_TTL_SECONDS: '0' });
      fake.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 500 });
      expect((await chat()).status).toBe(502);
      expect((await chat()).status).toBe(502);

      const refused = await chat();
      expect(refused.status).toBe(503);
      expect(refused.body.message).toMatch(/circuit breaker open/);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(fake.chatRequests()).toHaveLength(2); // refused without calling the backend

      await new Promise((resolve) => setTimeout(resolve, 550));
      expect((await chat()).status).toBe(200); // the half-open probe
      expect((await chat()).status).toBe(200); // closed again
      expect(fake.chatRequests()).toHaveLength(4);
    });

    it('reopens when the half-open probe fails', async () => {
      await start({ BREAKER_FAIL_THRESHOLD: '1', BREAKER_RESET_SECONDS: '0.3', LLM_MAX_RETRIES: '0' });
      fake.setDefaultFault({ kind: 'status', status: 500 });
      expect((await chat()).status).toBe(502);
      expect((await chat()).status).toBe(503);
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect((await chat()).status).toBe(502); // probe failed
      expect((await chat()).status).toBe(503);
      expect(fake.chatRequests()).toHaveLength(2);
    });

    it('lets only one probe through while half-open', async () => {
      await start({ BREAKER_FAIL_THRESHOLD: '1', BREAKER_RESET_SECONDS: '0.2', LLM_MAX_RETRIES: '0', CACHE_TTL_SECONDS: '0' });
      fake.enqueue({ kind: 'status', status: 500 }, { kind: 'delay_first', delayMs: 300 });
      expect((await chat()).status).toBe(502);
      await new Promise((resolve) => setTimeout(resolve, 250));
      const [probe, other] = await Promise.all([chat('probe'), new Promise((r) => setTimeout(r, 50)).then(() => chat('other'))]);
      expect(probe.status).toBe(200);
      expect(other.status).toBe(503);
    });

    it('does not count an unknown model as a backend failure', async () => {
      await start({ BREAKER_FAIL_THRESHOLD: '1' });
      expect((await chat('hi', { model: 'nope' })).status).toBe(404);
      expect((await chat()).status).toBe(200);
    });
  });
});

/**
 * A stream that has handed the client reasoning or a tool call is never retried: a second attempt
 * would think and call again, and the client would see both.
 */
describe('retries after thinking or a tool call reached the client', () => {
  const fake = new FakeOllama({
    models: [{ name: 'qwen3', capabilities: ['completion', 'thinking', 'tools'] }],
    respond: (req) =>
      Array.isArray(req.tools)
        ? { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] }
        : { thinking: 'first I consider the question', content: 'the answer' },
  });
  let t: TestApp | undefined;
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  afterEach(async () => {
    await t?.close();
    t = undefined;
    fake.reset();
  });
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];

  it('does not retry once thinking was streamed; the reasoning so far is stored with the error', async () => {
    t = await startTestApp({ OLLAMA_URL: fake.url, LLM_MAX_RETRIES: '2', MODEL_NAME: 'qwen3' });
    fake.enqueue({ kind: 'drop', afterChunks: 2 });
    const sse = await openSse(`${t.url}/chat/sse`, { headers: { 'x-api-key': TEST_API_KEY }, body: { prompt: 'think', think: true } });
    const events = await sse.all();
    expect(events.filter((event) => event.event === 'thinking').map((event) => JSON.parse(event.data).text).join('')).toBe('first I');
    expect(events.at(-1)).toMatchObject({ event: 'error' });
    expect(fake.chatRequests()).toHaveLength(1);
    const [row] = await queryDb<{ status: string; answer: string }>(t.dbPath, 'SELECT status, answer FROM conversations');
    expect(row.status).toBe('error');
    expect(JSON.parse(row.answer)).toMatchObject({ thinking: 'first I' });
  });

  it('does not retry once a tool call was handed on', async () => {
    t = await startTestApp({ OLLAMA_URL: fake.url, LLM_MAX_RETRIES: '2', MODEL_NAME: 'qwen3' });
    fake.enqueue({ kind: 'drop', afterChunks: 1 });
    const res = await t.request('/v1/chat/completions', {
      body: { model: 'qwen3', messages: [{ role: 'user', content: 'weather?' }], tools, stream: true, reasoning_effort: 'none' },
    });
    const text = await res.text();
    expect(text).toContain('"name":"get_weather"');
    expect(text).toMatch(/data: \{"error":\{"message":"Connection to Ollama was lost mid-stream/);
    expect(fake.chatRequests()).toHaveLength(1);
  });
});
