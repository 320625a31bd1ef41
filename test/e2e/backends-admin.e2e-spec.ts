import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeOllama } from '../support/fake-ollama';
import { FAKE_WEBHOOK_TOKEN, FakeSlack } from '../support/fake-slack';
import { eventually } from '../support/eventually';
import { hasPromtool, Metrics, promtoolCheck } from '../support/prometheus';
import { scopedKeys, startTestApp, tempDir, type TestApp } from '../support/test-app';

jest.setTimeout(60_000);

const SECRET = 'sk-never-shown-0123456789';
const LONG_REPLY = Array.from({ length: 20 }, (_, i) => `word${i}`).join(' ');

/** Two Ollama targets that both serve mistral (gpu-1 first: priority), and an OpenAI-compatible one that is never up. */
function writeBackends(dir: string, gpu1: FakeOllama, gpu2: FakeOllama): string {
  const file = join(dir, 'backends.yaml');
  writeFileSync(
    file,
    [
      'strategy: priority',
      'targets:',
      '  - name: gpu-1',
      '    kind: ollama',
      `    url: ${gpu1.url}`,
      '    max_concurrency: 2',
      '    models: [mistral]',
      '  - name: gpu-2',
      '    kind: ollama',
      `    url: ${gpu2.url}`,
      '    models: [mistral]',
      '  - name: vllm',
      '    kind: openai',
      '    url: http://127.0.0.1:9/v1',
      `    api_key: ${SECRET}`,
      '    models: [qwen2.5:32b]',
    ].join('\n'),
  );
  return file;
}

const chatTo = (t: TestApp, prompt: string) => t.request('/chat', { body: { prompt, model: 'mistral' } });
const chatsOn = (fake: FakeOllama) => fake.requests.filter((request) => request.path === '/api/chat').length;
const backendsOf = async (t: TestApp) => (await (await t.request('/admin/backends')).json()) as { strategy: string; backends: Record<string, any>[] };
const named = async (t: TestApp, name: string) => (await backendsOf(t)).backends.find((backend) => backend.name === name)!;

describe('model servers admin (several targets from BACKENDS_FILE)', () => {
  const gpu1 = new FakeOllama({ models: ['mistral'], reply: () => LONG_REPLY, tokenDelayMs: 20 });
  const gpu2 = new FakeOllama({ models: ['mistral'] });
  let data: ReturnType<typeof tempDir>;
  let t: TestApp;

  beforeAll(async () => {
    await Promise.all([gpu1.start(), gpu2.start()]);
    data = tempDir('vega-backends-');
    t = await startTestApp(
      { BACKENDS_FILE: writeBackends(data.dir, gpu1, gpu2), MODEL_NAME: 'mistral', HEALTH_PROBE_SECONDS: '0.1', CACHE_TTL_SECONDS: '0' },
      { keyStores: [scopedKeys({ 'chat-only-key-0123456789': ['chat'] })] },
    );
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([gpu1.stop(), gpu2.stop()]);
    data.remove();
  });

  describe('GET /admin/backends', () => {
    it('lists every target with its health, breaker, load, models, latency and errors; never a key', async () => {
      expect((await chatTo(t, 'hello')).status).toBe(200);
      const list = await eventually(() => backendsOf(t), (body) => body.backends.every((backend) => backend.health !== 'unknown'));
      expect(list.strategy).toBe('priority');
      expect(list.backends.map((backend) => backend.name)).toEqual(['gpu-1', 'gpu-2', 'vllm']);
      expect(list.backends[0]).toEqual({
        name: 'gpu-1',
        kind: 'ollama',
        url: gpu1.url,
        health: 'up',
        checked_at: expect.stringMatching(/Z$/),
        error: null,
        breaker: 'closed',
        in_flight: 0,
        max_concurrency: 2,
        queued: 0,
        // Marked loaded by its answer (and by /api/ps polls since).
        loaded_models: [expect.stringMatching(/^mistral/)],
        models: ['mistral'],
        p50_latency_ms: expect.any(Number),
        requests: 1,
        errors: 0,
        draining: false,
      });
      expect(list.backends[0]!.p50_latency_ms).toBeGreaterThan(0);
      expect(list.backends[1]).toMatchObject({ name: 'gpu-2', health: 'up', requests: 0, p50_latency_ms: null, max_concurrency: 0 });
      expect(list.backends[2]).toMatchObject({ name: 'vllm', kind: 'openai', health: 'down', error: expect.stringMatching(/unreachable/) });
      const text = await (await t.request('/admin/backends')).text();
      expect(text).not.toContain(SECRET);
    });

    it('is for admin keys only', async () => {
      expect((await t.request('/admin/backends', { key: 'chat-only-key-0123456789' })).status).toBe(403);
      expect((await t.request('/admin/backends', { key: null })).status).toBe(401);
    });
  });

  describe('POST /admin/backends/{name}/drain and /resume', () => {
    it('404 for a name no target has, naming those there are', async () => {
      for (const action of ['drain', 'resume']) {
        const res = await t.request(`/admin/backends/gpu-9/${action}`, { method: 'POST' });
        expect(res.status).toBe(404);
        expect((await res.json()).message).toBe("no model server named 'gpu-9'; there are: gpu-1, gpu-2, vllm");
      }
    });

    it('drain finishes what runs on the target and sends it nothing new; resume sends to it again', async () => {
      const before = { gpu1: chatsOn(gpu1), gpu2: chatsOn(gpu2) };
      const running = chatTo(t, 'a long one');
      await eventually(async () => chatsOn(gpu1), (count) => count > before.gpu1);

      const drained = await t.request('/admin/backends/gpu-1/drain', { method: 'POST' });
      expect(drained.status).toBe(200);
      expect(await drained.json()).toMatchObject({ name: 'gpu-1', draining: true, in_flight: 1 });

      // New requests go to gpu-2 while the one that runs on gpu-1 finishes there.
      for (const prompt of ['next 1', 'next 2']) expect((await chatTo(t, prompt)).status).toBe(200);
      expect(chatsOn(gpu2)).toBe(before.gpu2 + 2);
      const finished = await running;
      expect(finished.status).toBe(200);
      expect((await finished.json()).response).toBe(LONG_REPLY);
      expect(chatsOn(gpu1)).toBe(before.gpu1 + 1);
      expect(await named(t, 'gpu-1')).toMatchObject({ draining: true, in_flight: 0 });

      const resumed = await t.request('/admin/backends/gpu-1/resume', { method: 'POST' });
      expect(await resumed.json()).toMatchObject({ name: 'gpu-1', draining: false });
      expect((await chatTo(t, 'back on gpu-1')).status).toBe(200);
      expect(chatsOn(gpu1)).toBe(before.gpu1 + 2);
      expect(chatsOn(gpu2)).toBe(before.gpu2 + 2);
    });
  });

  describe('metrics with a target label', () => {
    it('counts requests by target and outcome and exposes in flight, breaker, up and draining per target (promtool-clean)', async () => {
      const metrics = new Metrics(await (await t.request('/metrics', { key: null })).text());
      expect(metrics.value('vega_target_requests_total', { target: 'gpu-1', outcome: 'ok' })).toBeGreaterThanOrEqual(3);
      expect(metrics.value('vega_target_requests_total', { target: 'gpu-2', outcome: 'ok' })).toBe(2);
      expect(metrics.labelValues('vega_target_in_flight', 'target')).toEqual(['gpu-1', 'gpu-2', 'vllm']);
      expect(metrics.value('vega_target_breaker_state', { target: 'gpu-1' })).toBe(0);
      expect(metrics.value('vega_target_up', { target: 'gpu-1' })).toBe(1);
      expect(metrics.value('vega_target_up', { target: 'vllm' })).toBe(0);
      expect(metrics.value('vega_target_draining', { target: 'gpu-1' })).toBe(0);
      if (!hasPromtool()) {
        if (process.env.VEGA_REQUIRE_PROMTOOL) throw new Error('promtool is required here (VEGA_REQUIRE_PROMTOOL is set) but not on the PATH');
        return console.warn('SKIPPED: promtool is not installed (Debian: apt-get install prometheus); .ci/run installs it');
      }
      expect(promtoolCheck(metrics.text)).toEqual({ status: 0, output: '' });
    });
  });

  describe('GET /readyz', () => {
    const ready = async () => {
      const res = await t.request('/readyz', { key: null });
      return { status: res.status, body: await res.json() };
    };

    it('reports each target; ready while one is up and not draining, 503 when none is', async () => {
      // vllm is never up: ready, but degraded, with each target named.
      const degraded = await eventually(ready, (res) => res.body.details?.ollama?.targets?.['gpu-2']?.status === 'up');
      expect(degraded.status).toBe(200);
      expect(degraded.body).toMatchObject({ status: 'degraded', degraded: true });
      expect(degraded.body.details.ollama.targets).toEqual({
        'gpu-1': { status: 'up', kind: 'ollama', version: '0.12.6', latency_ms: expect.any(Number), checked_at: expect.any(String), breaker: 'closed' },
        'gpu-2': expect.objectContaining({ status: 'up' }),
        vllm: expect.objectContaining({ status: 'down', kind: 'openai', message: expect.stringMatching(/unreachable/) }),
      });

      const port = Number(new URL(gpu2.url).port);
      await gpu2.stop();
      const oneDown = await eventually(ready, (res) => res.body.details?.ollama?.targets?.['gpu-2']?.status === 'down');
      expect(oneDown.status).toBe(200);
      expect(oneDown.body.details.ollama.targets['gpu-1'].status).toBe('up');

      // The only one up is drained: nothing can serve.
      expect((await t.request('/admin/backends/gpu-1/drain', { method: 'POST' })).status).toBe(200);
      const none = await ready();
      expect(none.status).toBe(503);
      expect(none.body.error.ollama.targets['gpu-1'].status).toBe('draining');
      expect((await t.request('/admin/backends/gpu-1/resume', { method: 'POST' })).status).toBe(200);
      expect((await ready()).status).toBe(200);
      await gpu2.start(port);
    });
  });
});

describe('Slack notifications name the target', () => {
  const gpu1 = new FakeOllama({ models: ['mistral'] });
  const gpu2 = new FakeOllama({ models: ['mistral'] });
  const slack = new FakeSlack();
  let data: ReturnType<typeof tempDir>;
  let t: TestApp;

  beforeAll(async () => {
    await Promise.all([gpu1.start(), gpu2.start(), slack.start()]);
    data = tempDir('vega-backends-slack-');
    t = await startTestApp({
      BACKENDS_FILE: writeBackends(data.dir, gpu1, gpu2),
      MODEL_NAME: 'mistral',
      HEALTH_PROBE_SECONDS: '0.1',
      SLACK_WEBHOOK_URL: slack.webhookUrl,
      SLACK_ALLOW_ANY_URL: 'true',
      FETCH_ALLOW_HOSTS: slack.host,
      SLACK_NOTIFY: 'breaker,backend',
      SLACK_NOTIFY_INTERVAL_SEC: '1',
      BREAKER_FAIL_THRESHOLD: '1',
      BREAKER_RESET_SECONDS: '60',
      LLM_MAX_RETRIES: '0',
      CACHE_TTL_SECONDS: '0',
    });
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([gpu1.stop(), gpu2.stop(), slack.stop()]);
    data.remove();
  });

  it('says which target went down, and which breaker opened while the others serve', async () => {
    // vllm is down from the start: that is worth saying, with its name.
    const [first] = await slack.waitFor(1);
    expect(first.body.text).toMatch(/the model backend vllm \(openai\) is down: /);

    gpu1.enqueue({ kind: 'status', status: 500 });
    expect((await chatTo(t, 'fails on gpu-1')).status).toBe(502);
    const texts = () => slack.messages.map((message) => message.body.text ?? '');
    await eventually(async () => texts(), (all) => all.some((text) => /breaker/.test(text)), 5_000);
    expect(texts()).toContainEqual(
      expect.stringMatching(/the circuit breaker opened for the model backend gpu-1 \(ollama\) — it keeps failing, so its requests go to the other model servers/),
    );
    // gpu-1's breaker is open: the next chat goes to gpu-2.
    expect((await chatTo(t, 'served by gpu-2')).status).toBe(200);
    expect(chatsOn(gpu2)).toBe(1);
    expect(JSON.stringify(slack.messages)).not.toContain(SECRET);
    expect(t.logs.join('\n')).not.toContain(FAKE_WEBHOOK_TOKEN);
  });
});
