import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../support/eventually';
import { FakeOllama } from '../support/fake-ollama';
import { describeWithRedis, RedisServer } from '../support/redis-server';
import { startTestApp, tempDir, type TestApp } from '../support/test-app';
import { VegaProcess } from '../support/vega-process';

/** Long enough that requests sent together overlap on the server even on a loaded machine. */
const GENERATION_MS = 500;

const targetLine = (name: string, url: string, maxConcurrency: number) => `  - { name: ${name}, kind: ollama, url: "${url}", max_concurrency: ${maxConcurrency}, models: [mistral] }`;

const chat = (app: TestApp, content: string) =>
  app.request('/v1/chat/completions', { body: { model: 'mistral', messages: [{ role: 'user', content }], max_tokens: 5 } });

const names = async (app: TestApp): Promise<string[]> => ((await (await app.request('/admin/backends')).json()) as { backends: { name: string }[] }).backends.map((backend) => backend.name);

const metric = async (app: TestApp, line: string): Promise<number> => {
  const text = await (await app.request('/metrics')).text();
  const found = text.split('\n').find((row) => row.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
};

describeWithRedis('routing shared between instances (e2e, two instances on one Redis)', () => {
  // Room for every request at once: only Vega limits what runs together.
  const gpu = new FakeOllama({ models: ['mistral'], reply: () => 'ok', tokenDelayMs: GENERATION_MS, numParallel: 64 });
  const spare = new FakeOllama({ models: ['mistral'], reply: () => 'ok' });
  const temp = tempDir('vega-routing-shared-');
  let redis: RedisServer;
  /** Killed by a test, and not started again yet. */
  let redisDown = false;
  const apps: TestApp[] = [];

  /** Two instances on one Redis key space, one backends file. */
  async function pair(file: string): Promise<[TestApp, TestApp]> {
    const env = { BACKENDS_FILE: file, REDIS_URL: redis.url, REDIS_PREFIX: `pair${apps.length}-${Date.now()}:`, CACHE_TTL_SECONDS: '0', RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' };
    for (let index = 0; index < 2; index += 1) apps.push(await startTestApp(env));
    return [apps[apps.length - 2]!, apps[apps.length - 1]!];
  }

  function backendsFile(name: string, lines: string[]): string {
    const file = join(temp.dir, name);
    writeFileSync(file, ['targets:', ...lines].join('\n'));
    return file;
  }

  beforeAll(async () => {
    await Promise.all([gpu.start(), spare.start()]);
    redis = await RedisServer.start();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    gpu.reset();
    if (redisDown) await redis.start();
    redisDown = false;
  });
  afterAll(async () => {
    await redis.stop();
    await Promise.all([gpu.stop(), spare.stop()]);
    temp.remove();
  });

  it("keeps a target's max concurrency across both instances: at most 2 generations at once in total", async () => {
    const [a, b] = await pair(backendsFile('shared.yaml', [targetLine('gpu-1', gpu.url, 2)]));
    const answers = await Promise.all(Array.from({ length: 12 }, (_, index) => chat(index % 2 === 0 ? a : b, `shared ${index}`)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(12).fill(200));
    // Each instance alone would send 2: 4 at once without the shared count.
    expect(gpu.peakConcurrency()).toBe(2);
  }, 30_000);

  it('falls back to each instance counting alone while Redis is down (a metric says so), and shares again when it is back', async () => {
    const [a, b] = await pair(backendsFile('down.yaml', [targetLine('gpu-1', gpu.url, 2)]));
    await redis.kill();
    redisDown = true;
    const startedAt = performance.now();
    const answers = await Promise.all(Array.from({ length: 8 }, (_, index) => chat(index % 2 === 0 ? a : b, `alone ${index}`)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(8).fill(200));
    // Four rounds of one generation at most (2 at once on each instance), no wait on Redis.
    expect(performance.now() - startedAt).toBeLessThan(GENERATION_MS * 4 + 5_000);
    expect(gpu.peakConcurrency()).toBeGreaterThan(2);
    expect(gpu.peakConcurrency()).toBeLessThanOrEqual(4);
    expect(await metric(a, 'vega_redis_fallbacks_total{what="routing"}')).toBeGreaterThan(0);
    expect(await metric(b, 'vega_redis_fallbacks_total{what="routing"}')).toBeGreaterThan(0);

    await redis.start();
    redisDown = false;
    await eventually(() => metric(a, 'vega_redis_up'), (up) => up === 1);
    await eventually(() => metric(b, 'vega_redis_up'), (up) => up === 1);
    gpu.reset();
    const again = await Promise.all(Array.from({ length: 8 }, (_, index) => chat(index % 2 === 0 ? a : b, `again ${index}`)));
    expect(again.map((answer) => answer.status)).toEqual(Array(8).fill(200));
    expect(gpu.peakConcurrency()).toBe(2);
  }, 40_000);

  it('reloads the backends file on one instance and the other follows within 1 s', async () => {
    const file = backendsFile('reload.yaml', [targetLine('gpu-1', gpu.url, 2)]);
    const [a, b] = await pair(file);
    writeFileSync(file, ['strategy: priority', 'targets:', targetLine('gpu-1', gpu.url, 4), targetLine('gpu-2', spare.url, 0)].join('\n'));

    const reloaded = await a.request('/admin/backends/reload', { method: 'POST' });
    expect(reloaded.status).toBe(200);
    expect(await reloaded.json()).toEqual({ file, strategy: 'priority', targets: ['gpu-1', 'gpu-2'], added: ['gpu-2'], removed: [], changed: ['gpu-1'] });
    const noticedAt = performance.now();
    const seen = await eventually(() => names(b), (list) => list.length === 2, 1_000, 10);
    expect(seen).toEqual(['gpu-1', 'gpu-2']);
    expect(performance.now() - noticedAt).toBeLessThan(1_000);
    const backend = ((await (await b.request('/admin/backends')).json()) as { strategy: string; backends: { name: string; max_concurrency: number }[] });
    expect(backend.strategy).toBe('priority');
    expect(backend.backends[0]).toMatchObject({ name: 'gpu-1', max_concurrency: 4 });
  }, 30_000);
});

describe('POST /admin/backends/reload (one instance)', () => {
  const gpu1 = new FakeOllama({ models: ['mistral'], reply: () => 'ok' });
  const gpu2 = new FakeOllama({ models: ['mistral'], reply: () => 'ok', tokenDelayMs: GENERATION_MS });
  const temp = tempDir('vega-backends-reload-');
  let app: TestApp | undefined;

  beforeAll(async () => {
    await Promise.all([gpu1.start(), gpu2.start()]);
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(async () => {
    await Promise.all([gpu1.stop(), gpu2.stop()]);
    temp.remove();
  });

  async function start(lines: string[], env: Record<string, string> = {}): Promise<{ app: TestApp; file: string }> {
    const file = join(temp.dir, `backends-${Date.now()}.yaml`);
    writeFileSync(file, lines.join('\n'));
    app = await startTestApp({ BACKENDS_FILE: file, CACHE_TTL_SECONDS: '0', RATE_LIMIT_PER_MINUTE: '0', ...env });
    return { app, file };
  }

  it('refuses a file with problems, naming each of them, and keeps the targets in use', async () => {
    const { app, file } = await start(['targets:', targetLine('gpu-1', gpu1.url, 2)]);
    writeFileSync(file, ['targets:', '  - { name: gpu-1, kind: ollama, url: "ftp://nowhere", max_concurrency: -1, colour: red }'].join('\n'));

    const refused = await app.request('/admin/backends/reload', { method: 'POST' });
    expect(refused.status).toBe(409);
    const { message } = (await refused.json()) as { message: string };
    expect(message).toContain('targets[0].url: must be an http:// or https:// URL');
    expect(message).toContain('targets[0].max_concurrency: must be 0 (no limit) or more');
    expect(message).toContain('targets[0].colour: unknown key');
    expect(message).toContain('the model servers in use stay as they were');
    expect(await names(app)).toEqual(['gpu-1']);
    expect((await chat(app, 'still served')).status).toBe(200);
  });

  it('finishes a request in flight on a target the file no longer lists, and sends the next ones to the new set', async () => {
    const { app, file } = await start(['targets:', targetLine('gpu-2', gpu2.url, 0)]);
    const running = chat(app, 'on gpu-2');
    await gpu2.waitForRequests(1);
    writeFileSync(file, ['targets:', targetLine('gpu-1', gpu1.url, 0)].join('\n'));
    const reloaded = await app.request('/admin/backends/reload', { method: 'POST' });
    expect(await reloaded.json()).toMatchObject({ targets: ['gpu-1'], added: ['gpu-1'], removed: ['gpu-2'] });

    const finished = await running;
    expect(finished.status).toBe(200);
    expect(finished.headers.get('x-vega-target')).toBe('gpu-2');
    const next = await chat(app, 'after the reload');
    expect(next.status).toBe(200);
    expect(next.headers.get('x-vega-target')).toBe('gpu-1');
  }, 20_000);

  it('reloads on SIGHUP (a real server process)', async () => {
    const file = join(temp.dir, 'sighup.yaml');
    writeFileSync(file, ['targets:', targetLine('gpu-1', gpu1.url, 0)].join('\n'));
    const vega = new VegaProcess();
    try {
      await vega.start({ BACKENDS_FILE: file, LOG_LEVEL: 'info' });
      const list = async () =>
        ((await (await fetch(`${vega.url}/admin/backends`, { headers: { authorization: `Bearer ${vega.apiKey}` } })).json()) as { backends: { name: string }[] }).backends.map(
          (backend) => backend.name,
        );
      expect(await list()).toEqual(['gpu-1']);
      writeFileSync(file, ['targets:', targetLine('gpu-1', gpu1.url, 0), targetLine('gpu-2', gpu2.url, 3)].join('\n'));
      vega.signal('SIGHUP');
      expect(await eventually(list, (names) => names.length === 2, 5_000)).toEqual(['gpu-1', 'gpu-2']);
      // Log lines reach stdout asynchronously.
      expect(await eventually(async () => vega.stdout, (out) => out.includes('BACKENDS_FILE reloaded: added gpu-2'), 5_000)).toContain('BACKENDS_FILE reloaded: added gpu-2');
    } finally {
      await vega.dispose();
    }
  }, 40_000);

  it('changes nothing without a backends file (the servers come from OLLAMA_URL): file null', async () => {
    app = await startTestApp({ OLLAMA_URL: gpu1.url });
    const answer = await app.request('/admin/backends/reload', { method: 'POST' });
    expect(answer.status).toBe(200);
    const name = new URL(gpu1.url).host;
    expect(await answer.json()).toEqual({ file: null, strategy: app.config.routing.strategy, targets: [name], added: [], removed: [], changed: [] });
    expect(await names(app)).toEqual([name]);
  });
});
