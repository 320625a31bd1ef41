import { FakeOllama } from '../support/fake-ollama';
import { hasPromtool, Metrics, promtoolCheck } from '../support/prometheus';
import { openSse } from '../support/sse-client';
import { queryDb } from '../support/sqlite';
import { startTestApp, TEST_API_KEY, TestApp } from '../support/test-app';

const METRICS_TOKEN = 'metrics-token-0123456789';
const auth = { 'x-api-key': TEST_API_KEY };

/** Polls `check` until it returns a value, or fails after `timeoutMs`. */
async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('GET /metrics', () => {
  // Tokens a few milliseconds apart, so generation speed and time to first token are measurable.
  const fake = new FakeOllama({ models: ['mistral', 'llama3:8b'], tokenDelayMs: 2 });
  let t: TestApp;

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  afterEach(async () => {
    await t?.close();
    fake.reset();
  });

  const start = async (env: Record<string, string> = {}) => {
    t = await startTestApp({ OLLAMA_URL: fake.url, HEALTH_PROBE_SECONDS: '0.2', LLM_MAX_RETRIES: '0', ...env });
    return t;
  };
  const scrape = async (headers: Record<string, string> = {}) => {
    const res = await t.request('/metrics', { key: null, headers });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    return new Metrics(await res.text());
  };
  const chat = async (body: Record<string, unknown>) => {
    const res = await t.request('/chat', { body });
    return { status: res.status, body: await res.json() };
  };

  it('passes `promtool check metrics` (Prometheus own linter) after traffic of every kind', async () => {
    if (!hasPromtool()) {
      if (process.env.VEGA_REQUIRE_PROMTOOL) throw new Error('promtool is required here (VEGA_REQUIRE_PROMTOOL is set) but not on the PATH');
      console.warn('SKIPPED: promtool is not installed (Debian: apt-get install prometheus); .ci/run installs it');
      return;
    }
    await start();
    await chat({ prompt: 'hello' });
    await chat({ prompt: 'hello' });
    await chat({ prompt: 'x', model: 'nope' });
    await t.request('/nope', {});
    await (await openSse(`${t.url}/chat/sse`, { headers: auth, body: { prompt: 'streamed' } })).all();
    const { text } = await scrape();
    const check = promtoolCheck(text);
    expect(check).toEqual({ status: 0, output: '' });
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('counts model calls by model and outcome: ok, cached, error, timeout, aborted, breaker_open', async () => {
    await start({ LLM_FIRST_TOKEN_TIMEOUT_SEC: '0.3', BREAKER_FAIL_THRESHOLD: '3' });
    const ok = await chat({ prompt: 'one two three' });
    expect(ok.status).toBe(200);
    expect((await chat({ prompt: 'one two three' })).body.cached).toBe(true);
    fake.enqueue({ kind: 'status', status: 500, message: 'boom' });
    expect((await chat({ prompt: 'fails' })).status).toBe(502);
    fake.enqueue({ kind: 'hang' });
    expect((await chat({ prompt: 'times out' })).status).toBe(504);
    fake.enqueue({ kind: 'hang' });
    const sse = await openSse(`${t.url}/chat/sse`, { headers: auth, body: { prompt: 'left early' } });
    await fake.waitForRequests(4);
    sse.close();
    await fake.waitForAbort(3);
    // A third consecutive failure opens the breaker; the next call is refused without reaching the backend.
    fake.enqueue({ kind: 'status', status: 500 });
    expect((await chat({ prompt: 'opens the breaker' })).status).toBe(502);
    expect((await chat({ prompt: 'refused' })).status).toBe(503);

    const m = await eventually(async () => {
      const scraped = await scrape();
      return scraped.value('vega_llm_requests_total', { model: 'mistral', outcome: 'aborted' }) === 1 ? scraped : undefined;
    });
    const calls = (outcome: string) => m.value('vega_llm_requests_total', { model: 'mistral', outcome });
    expect({
      ok: calls('ok'),
      cached: calls('cached'),
      error: calls('error'),
      timeout: calls('timeout'),
      aborted: calls('aborted'),
      breaker_open: calls('breaker_open'),
    }).toEqual({ ok: 1, cached: 1, error: 2, timeout: 1, aborted: 1, breaker_open: 1 });
    // Latency and speed histograms cover complete answers from the backend (not the cached one).
    expect(m.value('vega_llm_request_duration_seconds_count', { model: 'mistral' })).toBe(1);
    expect(m.value('vega_llm_request_duration_seconds_sum', { model: 'mistral' })).toBeGreaterThan(0);
    expect(m.value('vega_llm_time_to_first_token_seconds_count', { model: 'mistral' })).toBe(1);
    expect(m.value('vega_llm_tokens_per_second_count', { model: 'mistral' })).toBe(1);
    expect(m.value('vega_llm_tokens_per_second_sum', { model: 'mistral' })).toBeGreaterThan(0);
    expect(m.value('vega_llm_prompt_tokens_total', { model: 'mistral' })).toBe(ok.body.usage.prompt_tokens);
    expect(m.value('vega_llm_completion_tokens_total', { model: 'mistral' })).toBe(ok.body.usage.completion_tokens);
    expect(ok.body.usage.completion_tokens).toBeGreaterThan(0);
    // Buckets are cumulative and end with +Inf = count.
    expect(m.value('vega_llm_request_duration_seconds_bucket', { model: 'mistral', le: '+Inf' })).toBe(1);
    expect(m.value('vega_llm_breaker_state')).toBe(2);
    expect(m.value('vega_llm_cache_hits_total')).toBe(1);
    expect(m.value('vega_llm_cache_misses_total')).toBe(5);
    expect(m.value('vega_llm_cache_entries')).toBe(1);
    // HTTP side: by route template and status; the client that left counts as 499.
    expect(m.value('vega_http_requests_total', { method: 'POST', route: '/chat', status: '200' })).toBe(2);
    expect(m.value('vega_http_request_duration_seconds_count', { method: 'POST', route: '/chat', status: '200' })).toBe(2);
    expect(m.value('vega_http_requests_total', { method: 'POST', route: '/chat', status: '502' })).toBe(2);
    expect(m.value('vega_http_requests_total', { method: 'POST', route: '/chat', status: '504' })).toBe(1);
    expect(m.value('vega_http_requests_total', { method: 'POST', route: '/chat', status: '503' })).toBe(1);
    expect(m.value('vega_http_requests_total', { method: 'POST', route: '/chat/sse', status: '499' })).toBe(1);
  });

  it('bounds the model label to known models (the backend list and the configured one) plus "other"', async () => {
    await start({ CACHE_TTL_SECONDS: '0' });
    // Wait for the background probe to learn the backend's models.
    await eventually(async () => ((await scrape()).value('vega_backend_up') === 1 ? true : undefined));
    expect((await chat({ prompt: 'a', model: 'llama3:8b' })).status).toBe(200);
    for (const model of ['made-up-1', 'made-up-2', 'made-up-3']) expect((await chat({ prompt: 'a', model })).status).toBe(404);
    const m = await scrape();
    expect(m.labelValues('vega_llm_requests_total', 'model')).toEqual(['llama3:8b', 'mistral', 'other']);
    expect(m.value('vega_llm_requests_total', { model: 'llama3:8b', outcome: 'ok' })).toBe(1);
    expect(m.value('vega_llm_requests_total', { model: 'other', outcome: 'error' })).toBe(3);
    expect(m.text).not.toContain('made-up');
  });

  it('labels HTTP requests by route template; URLs that match no route collapse to "unmatched"', async () => {
    await start();
    for (const path of ['/nope/1', '/nope/2?prompt=secret', '/wp-admin.php']) expect((await t.request(path)).status).toBe(404);
    await t.request('/healthz', { key: null });
    const m = await scrape();
    expect(m.value('vega_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(3);
    expect(m.value('vega_http_requests_total', { method: 'GET', route: '/healthz', status: '200' })).toBe(1);
    expect(m.text).not.toMatch(/nope|wp-admin|secret/);
    expect(m.labelValues('vega_http_requests_total', 'route')).toEqual(['/healthz', 'unmatched']);
  });

  it('reports requests in flight, open streams included', async () => {
    await start();
    fake.enqueue({ kind: 'hang' });
    const sse = await openSse(`${t.url}/chat/sse`, { headers: auth, body: { prompt: 'waits' } });
    await fake.waitForRequests(1);
    // The stream and the scrape itself.
    expect((await scrape()).value('vega_http_requests_in_flight')).toBe(2);
    sse.close();
    await fake.waitForAbort(0);
    await eventually(async () => ((await scrape()).value('vega_http_requests_in_flight') === 1 ? true : undefined));
  });

  it('reports the stored conversations and the backend probe', async () => {
    await start();
    await chat({ prompt: 'first' });
    await chat({ prompt: 'second' });
    const [{ n }] = await queryDb<{ n: number }>(t.dbPath, 'SELECT COUNT(*) AS n FROM conversations');
    const m = await eventually(async () => {
      const scraped = await scrape();
      return scraped.value('vega_backend_up') === 1 ? scraped : undefined;
    });
    expect(n).toBe(2);
    expect(m.value('vega_conversations_stored')).toBe(2);
    expect(m.value('vega_backend_probe_duration_seconds')).toBeGreaterThan(0);
    expect(m.value('vega_llm_breaker_state')).toBe(0);
  });

  describe('with METRICS_TOKEN', () => {
    beforeEach(() => start({ METRICS_TOKEN }));

    it('refuses a scrape without the bearer token, or with another one (the API key included)', async () => {
      const attempts: Record<string, string>[] = [
        {},
        { authorization: 'Bearer wrong-token-0123456789' },
        { authorization: `Bearer ${TEST_API_KEY}` },
        { 'x-api-key': TEST_API_KEY },
      ];
      for (const headers of attempts) {
        const res = await t.request('/metrics', { key: null, headers });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
        expect(await res.json()).toEqual({ statusCode: 401, error: 'Unauthorized', message: expect.stringMatching(/metrics token/) });
      }
    });

    it('serves the metrics with the token', async () => {
      const m = await scrape({ authorization: `Bearer ${METRICS_TOKEN}` });
      expect(m.value('vega_http_requests_total', { method: 'GET', route: '/metrics', status: '401' })).toBeUndefined();
      expect(m.value('vega_llm_breaker_state')).toBe(0);
    });
  });
});
