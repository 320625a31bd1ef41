import { eventually } from '../support/eventually';
import { FakeOllama, type FakeOllamaOptions } from '../support/fake-ollama';

/*
 * The fake's scheduler, as Ollama's: `numParallel` generations at once, `maxQueue` waiting
 * beyond that (then 503 "server busy"), and `loadDelayMs` before the first request for a model
 * that is not loaded.
 */

let fake: FakeOllama;

afterEach(async () => {
  await fake?.stop();
});

async function startFake(opts: FakeOllamaOptions): Promise<FakeOllama> {
  fake = new FakeOllama(opts);
  await fake.start();
  return fake;
}

function chat(content: string, init: { model?: string; signal?: AbortSignal } = {}): Promise<Response> {
  return fetch(`${fake.url}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: init.model ?? 'mistral', stream: false, messages: [{ role: 'user', content }] }),
    signal: init.signal,
  });
}

async function loadedNames(): Promise<string[]> {
  const { models } = (await (await fetch(`${fake.url}/api/ps`)).json()) as { models: { name: string }[] };
  return models.map((model) => model.name);
}

describe('FakeOllama scheduling', () => {
  it('runs numParallel generations at once and the others after them, in order', async () => {
    await startFake({ numParallel: 1, tokenDelayMs: 40 });
    const finished: string[] = [];
    const answers = ['one', 'two', 'three'].map((text) => chat(text).then(async (response) => finished.push(((await response.json()) as { message: { content: string } }).message.content)));
    await Promise.all(answers);
    expect(finished).toEqual(['Echo: one', 'Echo: two', 'Echo: three']);
    expect(fake.peakConcurrency()).toBe(1);
  });

  it('answers 503 "server busy" as Ollama does once maxQueue requests wait', async () => {
    await startFake({ numParallel: 1, maxQueue: 1, tokenDelayMs: 100 });
    const first = chat('one');
    await fake.waitForRequests(1);
    const second = chat('two');
    await fake.waitForRequests(2);
    expect(await eventually(async () => fake.queued(), (n) => n === 1)).toBe(1);
    const third = await chat('three');
    expect(third.status).toBe(503);
    expect(await third.json()).toEqual({ error: 'server busy, please try again.  maximum pending requests exceeded' });
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
  });

  it('gives the slot of a waiter whose client left to the next one', async () => {
    await startFake({ numParallel: 1, tokenDelayMs: 60 });
    const first = chat('one');
    await fake.waitForRequests(1);
    const leaving = new AbortController();
    const gone = chat('two', { signal: leaving.signal }).catch((error: unknown) => error);
    const third = chat('three');
    expect(await eventually(async () => fake.queued(), (n) => n === 2)).toBe(2);
    leaving.abort();
    await gone;
    expect(await eventually(async () => fake.queued(), (n) => n === 1)).toBe(1);
    expect((await first).status).toBe(200);
    expect(((await (await third).json()) as { message: { content: string } }).message.content).toBe('Echo: three');
    expect(fake.queued()).toBe(0);
  });

  it('loads a model that is not loaded first (one load for requests at once), then lists it in /api/ps', async () => {
    await startFake({ models: ['mistral', 'qwen2.5'], loadDelayMs: 300 });
    expect(await loadedNames()).toEqual([]);
    const startedAt = performance.now();
    await Promise.all([chat('a'), chat('b')]);
    const loading = performance.now() - startedAt;
    expect(loading).toBeGreaterThanOrEqual(290);
    expect(await loadedNames()).toEqual(['mistral:latest']);
    const warmStart = performance.now();
    await chat('c');
    expect(performance.now() - warmStart).toBeLessThan(loading);
  });

  it('keeps a request that waits for a load open until the server stops (dies mid-load)', async () => {
    await startFake({ loadDelayMs: 10_000 });
    const pending = chat('a').then(
      () => 'answered',
      () => 'connection lost',
    );
    await fake.waitForRequests(1);
    await fake.stop();
    expect(await pending).toBe('connection lost');
  });
});
