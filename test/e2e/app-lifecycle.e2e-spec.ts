import { FakeOllama } from '../support/fake-ollama';
import { startTestApp } from '../support/test-app';

/** The process's active handles and requests, by type ("Timeout", "TCPServerWrap"…), counted. */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

/** Lets closed sockets and cleared timers leave the active list (they go on the next turns). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('an app a test starts and closes', () => {
  const fake = new FakeOllama();

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());

  it('leaves no handle, timer or server behind once closed', async () => {
    // The first app sets up what a process has once (prom-client's collectors): not counted.
    const first = await startTestApp({ OLLAMA_URL: fake.url });
    await first.close();
    await settle();
    const before = resources();
    for (let i = 0; i < 3; i += 1) {
      const t = await startTestApp({ OLLAMA_URL: fake.url, HEALTH_PROBE_SECONDS: '0.1', MEMORY_TRIM_IDLE_SEC: '1' });
      expect((await t.request('/chat', { body: { prompt: 'hello' } })).status).toBe(200);
      const sse = await fetch(`${t.url}/chat/sse?prompt=hi`, { headers: { 'x-api-key': 'test-key-0123456789abcdef' } });
      await sse.text();
      await t.close();
    }
    await settle();
    expect(resources()).toEqual(before);
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
