import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runVega } from '../support/cli';
import { eventually } from '../support/eventually';
import { FakeOllama } from '../support/fake-ollama';
import { Metrics } from '../support/prometheus';
import { RedisCluster } from '../support/redis-cluster';
import { describeWithRedis } from '../support/redis-server';
import { chatAs, expectDayBudgetShared, expectRateLimitShared, expectRevocationPushed } from '../support/shared-state-scenarios';
import { queryDb } from '../support/sqlite';
import { scopedKeys, startTestApp, tempDir, type TestApp, type TestKey } from '../support/test-app';

const KEY = 'cluster-key-0123456789abcdef';
/** Long enough that requests sent together overlap on the target even on a loaded machine. */
const GENERATION_MS = 400;

const chat = (app: TestApp, prompt: string, key = KEY) => chatAs(app, key, prompt);

const metrics = async (app: TestApp) => new Metrics(await (await app.request('/metrics')).text());

/** Every Redis call answered: a CROSSSLOT (a script's keys on several nodes) or any other refusal would count here. */
async function expectNoRedisErrors(...apps: TestApp[]): Promise<void> {
  for (const app of apps) {
    const scraped = await metrics(app);
    expect(scraped.samples.filter((sample) => sample.name === 'vega_redis_errors_total' && sample.value > 0)).toEqual([]);
    expect(scraped.samples.filter((sample) => sample.name === 'vega_redis_fallbacks_total' && sample.value > 0)).toEqual([]);
    expect(scraped.value('vega_redis_up')).toBe(1);
  }
}


describeWithRedis('shared state on a Redis Cluster (e2e, two instances, three masters)', () => {
  const fake = new FakeOllama({ models: ['mistral'] });
  // Room for every request at once: only Vega limits what runs together.
  const gpu = new FakeOllama({ models: ['mistral'], reply: () => 'ok', tokenDelayMs: GENERATION_MS, numParallel: 64 });
  const temp = tempDir('vega-redis-cluster-');
  let cluster: RedisCluster;
  const apps: TestApp[] = [];

  /** Two instances on one key space of the cluster. */
  const pair = async (key: TestKey, env: Record<string, string> = {}): Promise<[TestApp, TestApp]> => {
    const shared = { OLLAMA_URL: fake.url, REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', REDIS_PREFIX: `pair${apps.length}-${Date.now()}:`, LOG_LEVEL: 'warn', ...env };
    for (let index = 0; index < 2; index += 1) apps.push(await startTestApp(shared, { keyStores: [scopedKeys({ [KEY]: key })] }));
    return [apps[apps.length - 2]!, apps[apps.length - 1]!];
  };

  beforeAll(async () => {
    await Promise.all([fake.start(), gpu.start()]);
    cluster = await RedisCluster.start();
  }, 60_000);
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    fake.setDefaultFault(null);
  });
  afterAll(async () => {
    await cluster?.stop();
    await Promise.all([fake.stop(), gpu.stop()]);
    temp.remove();
  });

  it('admits N requests per minute across both instances, not N each', async () => {
    await expectNoRedisErrors(...(await expectRateLimitShared(pair, KEY)));
  });

  it('keeps a day budget under concurrency across instances (the six keys of a script in one slot)', async () => {
    await expectNoRedisErrors(...(await expectDayBudgetShared(pair, KEY, fake, { tokensPerMinute: 100_000, concurrentStreams: 8 })));
  });

  it("shares answers, and a clear on one instance empties the other's own cache too (not only the shared level)", async () => {
    const [a, b] = await pair({ scopes: ['chat'] });
    const body = { model: 'mistral', messages: [{ role: 'user', content: 'cluster cache' }], temperature: 0 };
    const asked = () => fake.requests.filter((request) => request.path === '/api/chat').length;
    expect((await a.request('/v1/chat/completions', { body })).status).toBe(200);
    const before = asked();
    // B finds it on the cluster, and keeps it in its own cache.
    await (await eventually(() => b.request('/v1/chat/completions', { body }), (res) => res.status === 200, 1_000)).text();
    expect(asked()).toBe(before);
    const cacheSize = async (app: TestApp) => (await (await app.request('/admin/status')).json()).cache.size as number;
    expect(await cacheSize(b)).toBe(1);

    expect((await (await a.request('/admin/cache/clear', { method: 'POST' })).json()).cleared).toBe(1);
    expect(await eventually(() => cacheSize(b), (size) => size === 0, 1_000, 10)).toBe(0);
    expect((await b.request('/v1/chat/completions', { body })).status).toBe(200);
    expect(asked()).toBe(before + 1);
    // The new answer is shared again.
    expect((await a.request('/v1/chat/completions', { body })).status).toBe(200);
    expect(asked()).toBe(before + 1);
    await expectNoRedisErrors(a, b);
  });

  it('pushes a key revocation made on one instance to the other within 1 s (pub/sub across the cluster)', async () => {
    await expectNoRedisErrors(...(await expectRevocationPushed(pair)));
  });

  it('takes a change notice from the CLI (vega gen set) to both servers within 1 s, and the command ends', async () => {
    const data = tempDir();
    try {
      const [a, b] = await pair({ scopes: ['chat'] }, { VEGA_DATA_DIR: data.dir });
      const env = { VEGA_DATA_DIR: data.dir, REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', REDIS_PREFIX: a.config.redis!.prefix, ...a.databaseEnv };
      const set = await runVega(['gen', 'set', 'temperature=1.25'], { env });
      expect(set).toMatchObject({ code: 0, stderr: '' });
      const done = Date.now();
      const temperatureOf = async (app: TestApp) => (await (await app.request('/admin/gen')).json()).temperature as number;
      for (const app of [a, b]) expect(await eventually(() => temperatureOf(app), (value) => value === 1.25, 1_000, 10)).toBe(1.25);
      expect(Date.now() - done).toBeLessThan(1_000);
    } finally {
      data.remove();
    }
  }, 60_000);

  it("keeps a target's max concurrency across both instances", async () => {
    const file = join(temp.dir, 'slots.yaml');
    writeFileSync(file, `targets:\n  - { name: gpu-1, kind: ollama, url: "${gpu.url}", max_concurrency: 2, models: [mistral] }\n`);
    const [a, b] = await pair({ scopes: ['chat'] }, { BACKENDS_FILE: file, CACHE_TTL_SECONDS: '0' });
    const answers = await Promise.all(Array.from({ length: 8 }, (_, index) => chat(index % 2 === 0 ? a : b, `slots ${index}`)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(8).fill(200));
    expect(gpu.peakConcurrency()).toBe(2);
    await expectNoRedisErrors(a, b);
  }, 30_000);

  it('answers within the bound when a master is killed (readyz degraded, local limits), and shares again once it is back', async () => {
    const [a] = await pair({ scopes: ['chat'], limits: { requestsPerMinute: 100, tokensPerMinute: 100_000, tokensPerDay: 1_000_000 } }, { REDIS_TIMEOUT_MS: '300' });
    expect((await chat(a, 'before')).status).toBe(200);
    const [lost, ...others] = cluster.nodes;
    await lost!.kill();
    try {
      // The others mark it failed after the node timeout and refuse every key (CLUSTERDOWN): each call fails fast.
      await cluster.waitFor('fail', others);
      for (let i = 0; i < 5; i += 1) {
        const started = performance.now();
        expect((await chat(a, `while a master is down ${i}`)).status).toBe(200);
        expect(performance.now() - started).toBeLessThan(2_000);
      }
      const scraped = await metrics(a);
      expect(scraped.value('vega_redis_up')).toBe(0);
      expect(scraped.value('vega_redis_fallbacks_total', { what: 'rate_limit' })).toBeGreaterThan(0);
      expect(scraped.value('vega_redis_fallbacks_total', { what: 'budget_open' })).toBeGreaterThan(0);
      const ready = await (await a.request('/readyz')).json();
      expect(ready.degraded).toBe(true);
      expect(ready.details.redis.status).toBe('degraded');
    } finally {
      await lost!.start();
    }
    await cluster.waitFor('ok');
    // Calls go on meanwhile (an open breaker lets one through each second): the first that Redis answers closes it.
    const up = async () => ((await chat(a, 'after')).status === 200 ? (await metrics(a)).value('vega_redis_up') : -1);
    expect(await eventually(up, (value) => value === 1, 10_000, 200)).toBe(1);
    expect((await (await a.request('/readyz')).json()).details.redis.status).toBe('up');
  }, 60_000);
});
