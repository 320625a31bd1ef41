import { Logger, type LoggerService } from '@nestjs/common';
import { createClient } from 'redis';
import { FakeOllama } from '../support/fake-ollama';
import { eventually } from '../support/eventually';
import { RedisServer, describeWithRedis } from '../support/redis-server';
import { chatAs, expectDayBudgetShared, expectRateLimitShared, expectRevocationPushed } from '../support/shared-state-scenarios';
import { queryDb } from '../support/sqlite';
import { scopedKeys, startTestApp, tempDir, type TestApp, type TestKey } from '../support/test-app';

const KEY = 'shared-key-0123456789abcdef';

const chat = (app: TestApp, prompt: string, key = KEY, maxTokens = 20) => chatAs(app, key, prompt, maxTokens);

const metric = async (app: TestApp, line: string): Promise<number | undefined> => {
  const text = await (await app.request('/metrics')).text();
  const found = text.split('\n').find((row) => row.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
};


describeWithRedis('shared state on Redis (e2e, two instances)', () => {
  const fake = new FakeOllama({ models: ['mistral'] });
  let redis: RedisServer;
  const apps: TestApp[] = [];

  /** An instance on the shared Redis (and, with `dataDir`, a shared database). */
  const instance = async (key: TestKey, env: Record<string, string> = {}): Promise<TestApp> => {
    const app = await startTestApp(
      { OLLAMA_URL: fake.url, REDIS_URL: redis.url, REDIS_PREFIX: `t${apps.length}-${Date.now()}:`, LOG_LEVEL: 'warn', ...env },
      { keyStores: [scopedKeys({ [KEY]: key })] },
    );
    apps.push(app);
    return app;
  };
  /** Two instances on one Redis key space. */
  const pair = async (key: TestKey, env: Record<string, string> = {}): Promise<[TestApp, TestApp]> => {
    const prefix = `pair${apps.length}-${Date.now()}:`;
    return [await instance(key, { REDIS_PREFIX: prefix, ...env }), await instance(key, { REDIS_PREFIX: prefix, ...env })];
  };

  beforeAll(async () => {
    await fake.start();
    redis = await RedisServer.start();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    fake.setDefaultFault(null);
    if (!(await redisAnswers())) await redis.start();
  });
  afterAll(async () => {
    await redis.stop();
    await fake.stop();
  });
  const redisAnswers = async () => {
    try {
      const { createConnection } = await import('node:net');
      return await new Promise<boolean>((resolve) => {
        const socket = createConnection(redis.port, '127.0.0.1');
        socket.on('connect', () => (socket.destroy(), resolve(true)));
        socket.on('error', () => resolve(false));
      });
    } catch {
      return false;
    }
  };

  it('admits N requests per minute across both instances, not N each', async () => {
    await expectRateLimitShared(pair, KEY);
  });

  it('keeps a day budget exact under concurrency across instances (overrun at most one call\'s estimate)', async () => {
    await expectDayBudgetShared(pair, KEY, fake);
  });

  it('answers within the bound when Redis is killed, falls back to local limits (metric, log, readyz), and shares again when it is back', async () => {
    const [a] = await pair({ scopes: ['chat'], limits: { requestsPerMinute: 100, tokensPerMinute: 100_000, tokensPerDay: 1_000_000 } });
    expect((await chat(a, 'before')).status).toBe(200);
    expect(await metric(a, 'vega_redis_up')).toBe(1);
    // The test apps run without Nest's logger; this one keeps its lines (the next app started sets its own again).
    const lines: string[] = [];
    const keep = (message: unknown) => void lines.push(String(message));
    Logger.overrideLogger({ log: keep, warn: keep, error: keep } satisfies LoggerService);
    await redis.kill();
    for (let i = 0; i < 5; i += 1) {
      const started = performance.now();
      const res = await chat(a, `while down ${i}`);
      expect(res.status).toBe(200);
      expect(performance.now() - started).toBeLessThan(2_000);
    }
    expect(await metric(a, 'vega_redis_up')).toBe(0);
    expect(await metric(a, 'vega_redis_fallbacks_total{what="rate_limit"}')).toBeGreaterThan(0);
    expect(await metric(a, 'vega_redis_fallbacks_total{what="budget_open"}')).toBeGreaterThan(0);
    expect(lines.filter((line) => line.includes('Redis is unreachable'))).toHaveLength(2); // once per instance
    expect(lines.join('\n')).toMatch(/rate limits use this instance's own counters and budgets are not enforced/);
    const ready = await a.request('/readyz');
    expect(ready.status).toBe(200);
    const body = await ready.json();
    expect(body.degraded).toBe(true);
    expect(body.details.redis.status).toBe('degraded');

    await redis.start();
    expect(await eventually(() => metric(a, 'vega_redis_up'), (up) => up === 1, 10_000, 100)).toBe(1);
    expect((await chat(a, 'after')).status).toBe(200);
    expect((await (await a.request('/readyz')).json()).details.redis.status).toBe('up');
    expect(lines.some((line) => line.includes('Redis answers again'))).toBe(true);
  });

  it('answers within the bound when Redis stops answering (paused)', async () => {
    const [a] = await pair({ scopes: ['chat'], limits: { tokensPerMinute: 100_000 } });
    expect((await chat(a, 'before')).status).toBe(200);
    redis.pause();
    try {
      for (let i = 0; i < 5; i += 1) {
        const started = performance.now();
        expect((await chat(a, `while paused ${i}`)).status).toBe(200);
        expect(performance.now() - started).toBeLessThan(2_000);
      }
    } finally {
      redis.resume();
    }
  });

  it('refuses a key with a budget while Redis is down with BUDGETS_WHEN_REDIS_DOWN=closed (503), and admits one without', async () => {
    const [a] = await pair({ scopes: ['chat'], limits: { tokensPerDay: 1_000_000 } }, { BUDGETS_WHEN_REDIS_DOWN: 'closed' });
    expect((await chat(a, 'before')).status).toBe(200);
    await redis.kill();
    const refused = await chat(a, 'while down');
    expect(refused.status).toBe(503);
    expect((await refused.json()).error.message).toMatch(/budgets cannot be checked/);
    expect((await chat(a, 'no budget', 'test-key-0123456789abcdef')).status).toBe(200);
  });

  it('pushes a key revocation made on one instance to the other within 1 s (its cache emptied, not waiting for it to expire)', async () => {
    await expectRevocationPushed(pair);
  });

  it('applies a generation-settings change made on one instance on the other within 1 s', async () => {
    const [a, b] = await pair({ scopes: ['chat'] });
    expect((await a.request('/admin/gen', { method: 'POST', body: { temperature: 1.25 } })).status).toBe(200);
    const settings = await eventually(async () => (await b.request('/admin/gen')).json(), (body) => body.temperature === 1.25, 1_000, 10);
    expect(settings.temperature).toBe(1.25);
  });

  it('serves an answer cached by one instance from the other (second level), without asking the model again', async () => {
    const [a, b] = await pair({ scopes: ['chat'] });
    const body = { model: 'mistral', messages: [{ role: 'user', content: 'cache me' }], temperature: 0 };
    expect((await a.request('/v1/chat/completions', { body })).status).toBe(200);
    const asked = fake.requests.filter((request) => request.path === '/api/chat').length;
    const again = await eventually(() => b.request('/v1/chat/completions', { body }), (res) => res.status === 200, 1_000);
    await again.text();
    expect(fake.requests.filter((request) => request.path === '/api/chat').length).toBe(asked);
  });
  it('counts wrong keys per address across instances (AUTH_FAILURE_LIMIT in all, not each), and alone while Redis is down', async () => {
    const [a, b] = await pair({ scopes: ['chat'] }, { AUTH_FAILURE_LIMIT: '6' });
    const wrong = (i: number) => `wrong-${String(i).padStart(3, '0')}-0123456789abcdef`;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) statuses.push((await (i % 2 === 0 ? a : b).request('/v1/models', { key: wrong(i) })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429, 429]);
    const refused = await b.request('/v1/models', { key: KEY });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

    // Without Redis each instance counts its own, within the bound: a fresh pair, Redis killed.
    const [c] = await pair({ scopes: ['chat'] }, { AUTH_FAILURE_LIMIT: '3' });
    await redis.kill();
    const alone: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const started = performance.now();
      alone.push((await c.request('/v1/models', { key: wrong(i) })).status);
      expect(performance.now() - started).toBeLessThan(2_000);
    }
    expect(alone).toEqual([401, 401, 401, 429, 429]);
  });

  it('clears the shared answers for every instance with one INCR, scanning no key (so it works on a cluster too)', async () => {
    const [a, b] = await pair({ scopes: ['chat'] });
    const body = { model: 'mistral', messages: [{ role: 'user', content: 'clear me' }], temperature: 0 };
    const asked = () => fake.requests.filter((request) => request.path === '/api/chat').length;
    expect((await a.request('/v1/chat/completions', { body })).status).toBe(200);
    const before = asked();
    const stats = createClient({ url: redis.url });
    await stats.connect();
    try {
      await stats.configResetStat();
      const cleared = await a.request('/admin/cache/clear', { method: 'POST' });
      expect(cleared.status).toBe(200);
      expect((await cleared.json()).cleared).toBe(1); // this instance's own answers, as before
      const commands = await eventually(() => stats.info('commandstats'), (text) => /cmdstat_incr:calls=1\b/.test(text), 1_000, 10);
      expect(commands).not.toMatch(/cmdstat_(scan|keys|unlink|del):/);
    } finally {
      await stats.quit();
    }
    // The other instance no longer finds it in Redis: the model is asked again.
    expect((await b.request('/v1/chat/completions', { body })).status).toBe(200);
    expect(asked()).toBe(before + 1);
    // And the new answer is shared again.
    expect((await a.request('/v1/chat/completions', { body })).status).toBe(200);
    expect(asked()).toBe(before + 1);
  });
});
