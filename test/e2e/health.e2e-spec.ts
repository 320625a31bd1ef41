import { FakeOllama } from '../support/fake-ollama';
import { Metrics } from '../support/prometheus';
import { startTestApp, TestApp } from '../support/test-app';

/** The Redis check /readyz adds when the app runs on Redis (VEGA_TEST_REDIS_URL runs the suites that way). */
const redisCheck = (app: TestApp) => (app.config.redis ? { redis: { status: 'up' } } : {});

/** Polls until `check` returns a value, or fails after `timeoutMs`. */
async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Blocks this thread (and so the app's event loop, which runs in it) for `ms`. */
function blockEventLoop(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('health routes', () => {
  const fake = new FakeOllama();
  let t: TestApp;

  beforeEach(() => fake.start());
  afterEach(async () => {
    await t?.close();
    await fake.stop();
    fake.reset();
  });

  const start = async (env: Record<string, string> = {}) => {
    t = await startTestApp({ OLLAMA_URL: fake.url, HEALTH_PROBE_SECONDS: '0.1', ...env });
    return t;
  };
  const get = async (path: string) => {
    const res = await t.request(path, { key: null });
    return { status: res.status, body: await res.json() };
  };
  const readyWith = (status: number) => eventually(async () => {
    const res = await get('/readyz');
    return res.status === status ? res : undefined;
  });

  it('GET /healthz keeps its contract: { ok: true }, no key', async () => {
    await start();
    expect(await get('/healthz')).toEqual({ status: 200, body: { ok: true } });
  });

  it('GET /readyz reports the database and the backend probe, terminus-style', async () => {
    await start();
    const res = await readyWith(200);
    expect(res.body).toEqual({
      status: 'ok',
      degraded: false,
      info: res.body.details,
      error: {},
      details: {
        database: { status: 'up', responseTime: expect.any(Number) },
        ...redisCheck(t),
        ollama: { status: 'up', version: '0.12.6', latency_ms: expect.any(Number), checked_at: expect.any(String), breaker: 'closed' },
      },
    });
  });

  it('GET /readyz turns 503 within a probe interval when the backend stops, and 200 when it is back', async () => {
    await start();
    await readyWith(200);
    const port = Number(new URL(fake.url).port);
    await fake.stop();

    // A probe that races the server's shutdown sees a reset or a closed connection; the next one sees it refused.
    const down = await eventually(async () => {
      const res = await get('/readyz');
      return res.status === 503 && /refused/.test(res.body.error?.ollama?.message ?? '') ? res : undefined;
    });
    expect(down.body).toMatchObject({
      status: 'error',
      degraded: true,
      error: { ollama: { status: 'down', message: expect.stringMatching(/^Ollama is unreachable at .* \(connection refused\); is it running\?$/) } },
      details: { database: { status: 'up' }, ollama: { status: 'down' } },
    });
    const metrics = new Metrics(await (await t.request('/metrics', { key: null })).text());
    expect(metrics.value('vega_backend_up')).toBe(0);

    await fake.start(port);
    const up = await readyWith(200);
    expect(up.body).toMatchObject({ status: 'ok', degraded: false, details: { ollama: { status: 'up' } } });
    expect(new Metrics(await (await t.request('/metrics', { key: null })).text()).value('vega_backend_up')).toBe(1);
  });

  it('GET /readyz stays 200 but degraded while the circuit breaker is open and the backend answers probes', async () => {
    await start({ BREAKER_FAIL_THRESHOLD: '1', BREAKER_RESET_SECONDS: '60', LLM_MAX_RETRIES: '0' });
    await readyWith(200);
    fake.enqueue({ kind: 'status', status: 500 });
    expect((await t.request('/chat', { body: { prompt: 'fails' } })).status).toBe(502);
    const res = await get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'degraded', degraded: true, details: { ollama: { status: 'degraded', breaker: 'open' } } });
  });

  it('answers /readyz from the last background probe, without calling the backend per request', async () => {
    await start({ HEALTH_PROBE_SECONDS: '60' });
    await readyWith(200);
    const probes = () => fake.requests.filter((r) => r.path === '/api/version').length;
    const before = probes();
    for (let i = 0; i < 5; i += 1) expect((await get('/readyz')).status).toBe(200);
    expect(probes()).toBe(before);
    expect(before).toBe(1);
  });

  it('GET /livez is 200 while the event loop turns, and 503 after it was blocked for over a second', async () => {
    await start();
    const live = await get('/livez');
    expect(live).toEqual({
      status: 200,
      body: {
        status: 'ok',
        info: live.body.details,
        error: {},
        details: { event_loop: { status: 'up', delay_max_ms: expect.any(Number), limit_ms: 1000 } },
      },
    });
    blockEventLoop(1200);
    const blocked = await get('/livez');
    expect(blocked.status).toBe(503);
    expect(blocked.body).toMatchObject({ status: 'error', error: { event_loop: { status: 'down' } } });
    expect(blocked.body.details.event_loop.delay_max_ms).toBeGreaterThanOrEqual(1000);
  });
});

describe('MODEL_NAME missing on the backend', () => {
  const fake = new FakeOllama({ models: ['llama3.2', 'qwen2.5:7b'] });
  let t: TestApp | undefined;

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  afterEach(async () => {
    await t?.close();
    t = undefined;
    fake.reset();
  });

  const fix = 'model "mistral" is not on the backend; pull it (ollama pull mistral) or set MODEL_NAME to one of: llama3.2:latest, qwen2.5:7b';

  it('GET /readyz answers 200 degraded with reason model_missing and the models the backend has', async () => {
    t = await startTestApp({ OLLAMA_URL: fake.url, HEALTH_PROBE_SECONDS: '0.1' });
    const app = t;
    const res = await eventually(async () => {
      const ready = await app.request('/readyz', { key: null });
      const body = await ready.json();
      return body.details?.ollama?.reason ? { status: ready.status, body } : undefined;
    });
    expect(res).toEqual({
      status: 200,
      body: expect.objectContaining({
        status: 'degraded',
        degraded: true,
        details: {
          database: { status: 'up', responseTime: expect.any(Number) },
          ...redisCheck(t),
          ollama: {
            status: 'degraded',
            reason: 'model_missing',
            model: 'mistral',
            models: ['llama3.2:latest', 'qwen2.5:7b'],
            message: fix,
            version: '0.12.6',
            latency_ms: expect.any(Number),
            checked_at: expect.any(String),
            breaker: 'closed',
          },
        },
      }),
    });
  });

  it('answers a chat that names no model 404 with the fix; one that names a model the backend has works', async () => {
    t = await startTestApp({ OLLAMA_URL: fake.url });
    const missing = await t.request('/chat', { body: { prompt: 'hello' } });
    expect(missing.status).toBe(404);
    expect((await missing.json()).message).toBe(fix);
    expect((await t.request('/chat', { body: { prompt: 'hello', model: 'llama3.2' } })).status).toBe(200);
  });

  it('matches a name without a tag to :latest, as Ollama does', async () => {
    t = await startTestApp({ OLLAMA_URL: fake.url, HEALTH_PROBE_SECONDS: '0.1', MODEL_NAME: 'llama3.2' });
    const app = t;
    const res = await eventually(async () => {
      const ready = await app.request('/readyz', { key: null });
      return ready.status === 200 ? ready.json() : undefined;
    });
    expect(res).toMatchObject({ status: 'ok', degraded: false, details: { ollama: { status: 'up' } } });
  });
});
