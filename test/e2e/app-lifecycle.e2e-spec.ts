import { createHook } from 'node:async_hooks';
import { FakeOllama } from '../support/fake-ollama';
import { startTestApp } from '../support/test-app';

/**
 * Intervals and servers created while `work` runs that are still alive a moment after it (an
 * interval never cleared, a server never closed), by type, with where each was created. Unref'd
 * intervals count too: they keep the app (and the test file's modules) reachable.
 */
async function leftBehind(work: () => Promise<void>): Promise<string[]> {
  const alive = new Map<number, { type: string; resource: { _repeat?: unknown } }>();
  const where = new Map<number, string>();
  const hook = createHook({
    init(asyncId, type, _trigger, resource) {
      if (type !== 'Timeout' && type !== 'TCPSERVERWRAP') return;
      alive.set(asyncId, { type, resource: resource as { _repeat?: unknown } });
      where.set(asyncId, new Error().stack!.split('\n').filter((line) => line.includes('/src/')).slice(0, 2).join(' <- '));
    },
    destroy(asyncId) {
      alive.delete(asyncId);
    },
  });
  hook.enable();
  try {
    await work();
  } finally {
    hook.disable();
  }
  const deadline = Date.now() + 5_000;
  const leaks = () =>
    [...alive].filter(([, { type, resource }]) => type === 'TCPSERVERWRAP' || resource._repeat).map(([id, { type }]) => `${type} ${where.get(id)}`);
  while (leaks().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return leaks();
}

describe('an app a test starts and closes', () => {
  const fake = new FakeOllama();

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());

  it('leaves no handle, timer or server behind once closed', async () => {
    const leaks = await leftBehind(async () => {
      for (let i = 0; i < 3; i += 1) {
        const t = await startTestApp({ OLLAMA_URL: fake.url, HEALTH_PROBE_SECONDS: '0.1', MEMORY_TRIM_IDLE_SEC: '1' });
        expect((await t.request('/chat', { body: { prompt: 'hello' } })).status).toBe(200);
        const sse = await fetch(`${t.url}/chat/sse?prompt=hi`, { headers: { 'x-api-key': 'test-key-0123456789abcdef' } });
        await sse.text();
        await t.close();
      }
    });
    expect(leaks).toEqual([]);
  });

  it('writes its log lines to the test, never to the console, at any level', async () => {
    const stdout = jest.spyOn(process.stdout, 'write');
    const stderr = jest.spyOn(process.stderr, 'write');
    // pino's destination writes to file descriptor 1 itself, past process.stdout (the real fs module, not an import copy).
    const fs = require('node:fs') as typeof import('node:fs');
    const fdWrites = [jest.spyOn(fs, 'write'), jest.spyOn(fs, 'writeSync')];
    const toConsole = () => fdWrites.flatMap((spy) => spy.mock.calls as unknown[][]).filter(([fd]) => fd === 1 || fd === 2);
    try {
      const t = await startTestApp({ OLLAMA_URL: fake.url, LOG_LEVEL: 'verbose' });
      expect((await t.request('/chat', { body: { prompt: 'hello' } })).status).toBe(200);
      expect((await t.request('/nope')).status).toBe(404);
      await t.close();
      expect(t.logs.map((line) => JSON.parse(line).msg)).toEqual(expect.arrayContaining(['request completed', 'request input']));
      expect(stdout).not.toHaveBeenCalled();
      expect(stderr).not.toHaveBeenCalled();
      expect(toConsole()).toEqual([]);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
      for (const spy of fdWrites) spy.mockRestore();
    }
  });

});
