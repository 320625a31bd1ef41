import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeOllama } from '../support/fake-ollama';
import { openSse } from '../support/sse-client';
import { scopedKeys, startTestApp, tempDir, TEST_API_KEY, type TestApp } from '../support/test-app';

/**
 * Vega's fair queue over the wire: one fake Ollama behind a backends file with a max
 * concurrency, so requests beyond it wait in Vega's queue, round-robin across API keys.
 */

/** Long enough that a loaded machine's HTTP and storage time (tens of ms, more on a busy CI) stays well inside one generation. */
const GENERATION_MS = 400;
const HEAVY = 'heavy-key-0123456789';
const LIGHT = 'light-key-0123456789';

describe('Vega queue (every target for a model at its max concurrency)', () => {
  const fake = new FakeOllama({ models: ['mistral'], reply: () => 'ok', tokenDelayMs: GENERATION_MS, record: true });
  const temp = tempDir('vega-queue-');
  let app: TestApp | undefined;

  beforeAll(async () => {
    await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
    temp.remove();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    fake.reset();
  });

  async function start(maxConcurrency: number, env: Record<string, string> = {}): Promise<TestApp> {
    const file = join(temp.dir, `backends-${maxConcurrency}.yaml`);
    writeFileSync(file, `targets:\n  - name: gpu-1\n    kind: ollama\n    url: ${fake.url}\n    max_concurrency: ${maxConcurrency}\n    models: [mistral]\n`);
    app = await startTestApp({ BACKENDS_FILE: file, CACHE_TTL_SECONDS: '0', RATE_LIMIT_PER_MINUTE: '0', ...env }, { keyStores: [scopedKeys({ [HEAVY]: ['chat'], [LIGHT]: ['chat'] })] });
    return app;
  }

  function complete(target: TestApp, key: string, content: string) {
    return target.request('/v1/chat/completions', { key, body: { model: 'mistral', messages: [{ role: 'user', content }] } });
  }

  async function timed(target: TestApp, key: string, content: string): Promise<number> {
    const startedAt = performance.now();
    const res = await complete(target, key, content);
    expect(res.status).toBe(200);
    await res.json();
    return performance.now() - startedAt;
  }

  it("keeps a light key's wait under one generation while a heavy key floods the queue", async () => {
    const target = await start(4);
    // What a request takes with nobody waiting (the generation, HTTP, storage): the rest is the wait.
    await timed(target, LIGHT, 'warm-up');
    const alone = Math.min(await timed(target, LIGHT, 'alone 1'), await timed(target, LIGHT, 'alone 2'));
    const heavy: Promise<number>[] = [];
    const light: Promise<number>[] = [];
    // The heavy key offers 20 requests a second for 2.7 s, twice what the target serves (4 at once, 400 ms each).
    const flood = setInterval(() => heavy.push(timed(target, HEAVY, `heavy ${heavy.length}`)), 50);
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let index = 0; index < 8; index += 1) {
      light.push(timed(target, LIGHT, `light ${index}`));
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    clearInterval(flood);
    const lightWaits = (await Promise.all(light)).map((ms) => ms - alone).sort((a, b) => a - b);
    const heavyTimes = await Promise.all(heavy);
    // The heavy key did queue (its last requests waited a second or more), the light one did not wait a generation.
    expect(Math.max(...heavyTimes)).toBeGreaterThan(1_000);
    if (lightWaits[lightWaits.length - 1]! >= GENERATION_MS) throw new Error(`light waits ${lightWaits.map(Math.round).join(', ')} ms (alone ${Math.round(alone)} ms)`);
  }, 30_000);

  it('answers 503 with Retry-After when the queue for the model is full', async () => {
    const target = await start(1, { QUEUE_MAX_LENGTH: '1' });
    const running = complete(target, HEAVY, 'one');
    await waitFor(() => fake.chatRequests().length === 1);
    const queued = complete(target, HEAVY, 'two');
    await waitForQueue(target, 1);
    const refused = await complete(target, LIGHT, 'three');
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await refused.json()).error).toEqual(
      expect.objectContaining({ message: expect.stringMatching(/^Every model server for 'mistral' is busy and 1 requests are already waiting; retry in \d+ s$/), code: 'queue_full' }),
    );
    expect((await running).status).toBe(200);
    expect((await queued).status).toBe(200);
    expect(await metric(target, 'vega_queue_refusals_total{model="mistral",reason="full"}')).toBe(1);
  });

  it('answers 503 with Retry-After when a request waited QUEUE_MAX_WAIT_SEC, in the route dialect', async () => {
    const target = await start(1, { QUEUE_MAX_WAIT_SEC: '0.1' });
    const running = complete(target, HEAVY, 'one');
    await waitFor(() => fake.chatRequests().length === 1);
    const refused = await target.request('/api/chat', { key: LIGHT, body: { model: 'mistral', stream: false, messages: [{ role: 'user', content: 'two' }] } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await refused.json()).error).toMatch(/^Every model server for 'mistral' stayed busy for \d+ s while this request waited in the queue; retry in \d+ s$/);
    expect((await running).status).toBe(200);
    expect(fake.chatRequests()).toHaveLength(1);
    expect(await metric(target, 'vega_queue_refusals_total{model="mistral",reason="timeout"}')).toBe(1);
  });

  it('takes a waiter whose client left out of the queue at once: it is never sent', async () => {
    const target = await start(1);
    const running = complete(target, HEAVY, 'one');
    await waitFor(() => fake.chatRequests().length === 1);
    const leaving = await openSse(`${target.url}/v1/chat/completions`, {
      headers: { 'x-api-key': LIGHT },
      body: { model: 'mistral', stream: true, messages: [{ role: 'user', content: 'gone' }] },
    });
    await waitForQueue(target, 1);
    leaving.close();
    await waitForQueue(target, 0);
    expect((await running).status).toBe(200);
    expect((await complete(target, HEAVY, 'three')).status).toBe(200);
    expect(fake.chatRequests().map((request) => request.body.messages.at(-1)?.content)).toEqual(['one', 'three']);
  });

  describe('streams say they are queued, as an SSE comment', () => {
    it.each([
      ['/v1/chat/completions', { model: 'mistral', stream: true, messages: [{ role: 'user', content: 'two' }] }],
      ['/chat', { prompt: 'two', stream: true }],
    ])('%s', async (path, body) => {
      const target = await start(1, { MODEL_NAME: 'mistral' });
      const running = complete(target, HEAVY, 'one');
      await waitFor(() => fake.chatRequests().length === 1);
      const stream = await openSse(`${target.url}${path}`, { headers: { 'x-api-key': TEST_API_KEY }, body });
      expect(stream.status).toBe(200);
      const events = await stream.all();
      expect(stream.comments).toContain('queued, position 1');
      expect(stream.raw().indexOf(': queued, position 1')).toBeLessThan(stream.raw().indexOf('data:'));
      expect(events.length).toBeGreaterThan(0);
      expect((await running).status).toBe(200);
    });
  });
});

async function metric(app: TestApp, series: string): Promise<number> {
  const text = await (await app.request('/metrics')).text();
  const line = text.split('\n').find((entry) => entry.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function waitForQueue(app: TestApp, length: number): Promise<void> {
  const until = Date.now() + 5_000;
  while ((await metric(app, 'vega_queue_length{model="mistral"}')) !== length) {
    if (Date.now() > until) throw new Error(`the queue did not reach ${length}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
